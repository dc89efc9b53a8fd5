"""A normal user starts the TUI: sudo asks for the password in the terminal, once, and the wizard runs as root.

Debian's sudo keeps its timestamp per terminal, so "sudo -v, then sudo -n for each command on its own pty"
cannot work; and the wizard must never read a command's output for a password prompt (an app-user process
could print one). So the wizard re-executes itself under sudo before the UI starts.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pexpect
import pytest

USER, PASSWORD = "wizard-sudo-test", "correct-horse-battery-Z9"
pytestmark = pytest.mark.slow


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


def test_the_tui_asks_sudo_in_the_terminal_then_runs_as_root(sudoer: str, wizard_bin: str) -> None:
    env = {"PATH": f"{Path(wizard_bin).parent}:/usr/bin:/bin", "TERM": "xterm-256color", "HOME": f"/home/{sudoer}",
           "LANG": "C.UTF-8"}
    subprocess.run(["/usr/sbin/runuser", "-u", sudoer, "--", "sudo", "-K"], capture_output=True)
    child = pexpect.spawn("/usr/sbin/runuser", ["-u", sudoer, "--", wizard_bin], env=env, dimensions=(24, 80),
                          timeout=60, encoding="utf-8", codec_errors="replace")
    try:
        child.expect("sudo asks for your password")
        child.expect(r"password for")
        child.sendline(PASSWORD)
        child.expect("This machine")  # the welcome screen, drawn by the wizard now running as root
        pids = subprocess.run(["pgrep", "-u", "root", "-f", "--", "-I -m wizard"], capture_output=True, text=True)
        child.sendcontrol("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert PASSWORD not in (child.before or "")
    assert pids.stdout.strip(), "no process of the wizard runs as root"
