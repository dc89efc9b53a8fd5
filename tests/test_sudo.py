"""A real sudo asking a real password: it reaches sudo and nothing else (output, tail, transcript)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from wizard.commands import SUDO_PROMPT, Command, Privilege
from wizard.events import Output
from wizard.runner import PexpectRunner
from wizard.transcript import Transcript

USER, PASSWORD = "wizard-sudo-test", "correct-horse-battery-Z9"


@pytest.fixture(scope="module")
def sudoer(as_root: None) -> str:
    if not shutil.which("sudo"):
        subprocess.run(["apt-get", "install", "-y", "-q", "sudo"], check=True, capture_output=True,
                       env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", USER], check=True)
    subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True)
    rule = Path("/etc/sudoers.d/wizard-sudo-test")
    rule.write_text(f"{USER} ALL=(ALL) ALL\n")
    rule.chmod(0o440)
    return USER


def test_password_reaches_sudo_and_no_log(sudoer: str, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    transcript = Transcript(log)
    seen: list[str] = []

    def emit(event: object) -> None:
        transcript(event)  # type: ignore[arg-type]
        if isinstance(event, Output):
            seen.append(event.text)

    asked = []

    def prompter(prompt):  # type: ignore[no-untyped-def]
        asked.append(prompt.secret)
        return PASSWORD

    # As the sudoer, the way the wizard runs when started by a normal user: sudo -p PROMPT -- argv.
    argv = ["runuser", "-u", sudoer, "--", "sudo", "-k", "-p", SUDO_PROMPT, "--", "id", "-u"]
    result = PexpectRunner(emit, prompter=prompter, privilege=Privilege(is_root=True),
                           log=transcript).run("s", Command.of(*argv))
    transcript.close()
    assert result.exit_code == 0 and asked == [True]
    assert "0" in "".join(seen).split()
    for text in ("".join(seen), result.tail, log.read_text()):
        assert PASSWORD not in text
    assert "[piserver-wizard] sudo password for" in log.read_text()  # the prompt, from the terminal, is logged


def test_a_wrong_password_then_no_answer_stops_cleanly(sudoer: str) -> None:
    answers = iter(["wrong-password", None])
    argv = ["runuser", "-u", sudoer, "--", "sudo", "-k", "-p", SUDO_PROMPT, "--", "true"]
    result = PexpectRunner(lambda e: None, prompter=lambda p: next(answers),
                           privilege=Privilege(is_root=True)).run("s", Command.of(*argv))
    assert not result.ok and "password" in result.gave_up
