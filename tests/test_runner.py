"""The pexpect runner against real programs that print, prompt, hang and fail."""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path

import pytest

from wizard.commands import Command, Privilege
from wizard.events import Output, PromptNeeded
from wizard.runner import PexpectRunner


class Collect:
    def __init__(self) -> None:
        self.events: list[object] = []

    def __call__(self, event: object) -> None:
        self.events.append(event)

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, Output))


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def runner(emit: Collect, **kwargs: object) -> PexpectRunner:
    return PexpectRunner(emit, privilege=Privilege(is_root=True), **kwargs)  # type: ignore[arg-type]


def test_streams_output_and_exit_code(tmp_path: Path) -> None:
    prog = script(tmp_path, """
        import sys
        for i in range(2000):
            print(f"line {i}")
        sys.exit(3)
    """)
    emit = Collect()
    result = runner(emit).run("s", Command.of(sys.executable, prog))
    assert result.exit_code == 3
    lines = emit.text.replace("\r\n", "\n").splitlines()
    assert lines[0] == "line 0" and lines[-1] == "line 1999" and len(lines) == 2000
    assert result.tail.splitlines()[-1] == "line 1999"


def test_output_arrives_while_the_command_runs(tmp_path: Path) -> None:
    """Chunks are handed on as they come: the first line is seen before the program ends."""
    flag = tmp_path / "seen"
    prog = script(tmp_path, f"""
        import os, time
        print("first", flush=True)
        for _ in range(100):
            if os.path.exists({str(flag)!r}):
                print("saw the flag")
                break
            time.sleep(0.05)
    """)
    emit = Collect()

    def on_event(event: object) -> None:
        emit(event)
        if isinstance(event, Output) and "first" in event.text:
            flag.write_text("x")

    result = runner(on_event).run("s", Command.of(sys.executable, prog))  # type: ignore[arg-type]
    assert result.exit_code == 0
    assert "saw the flag" in emit.text


def test_a_password_prompt_from_a_root_command_gets_no_password(tmp_path: Path) -> None:
    """No prompter exists: a sudo-like question is an unforeseen question like any other, never answered
    with a secret; headless, the runner stops the command once nobody can answer."""
    prog = script(tmp_path, """
        import getpass, sys
        secret = getpass.getpass("[sudo] password for root: ")
        print("answered")
    """)
    emit = Collect()
    result = runner(emit, quiet_prompt_after=0.3, give_up_after=0.5).run("s", Command.of(sys.executable, prog))
    assert not result.ok and "nobody could give" in result.gave_up
    assert "answered" not in emit.text


def test_the_app_users_command_is_never_read_for_prompts_and_gets_no_terminal(tmp_path: Path) -> None:
    """Case 5 of the privilege boundary: an app-user process printing sudo's prompt is not answered."""
    from conftest import ensure_user

    ensure_user("pi")
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="wizard-ask-"))  # pytest's own folders are root's only
    folder.chmod(0o755)
    prog = folder / "ask.py"
    prog.write_text("import os, sys\nprint('[sudo] password for root: ', end='', flush=True)\n"
                    "line = sys.stdin.readline()\nprint('got', repr(line), 'tty', os.isatty(0), flush=True)\n")
    prog.chmod(0o644)
    events: list[object] = []
    result = runner(events.append, quiet_prompt_after=0.2).run(
        "s", Command.of("/usr/bin/python3", str(prog), as_user="pi"))
    text = "".join(e.text for e in events if isinstance(e, Output))
    assert result.exit_code == 0 and "got '' tty False" in text
    assert not [e for e in events if type(e).__name__ == "PromptNeeded"]


def test_unforeseen_question_is_reported_and_answered(tmp_path: Path) -> None:
    prog = script(tmp_path, """
        answer = input("Overwrite the file? [y/N] ")
        print(f"got {answer!r}")
    """)
    emit = Collect()
    run = runner(emit, interactive=True, quiet_prompt_after=0.5)

    def watch(event: object) -> None:
        emit(event)
        if isinstance(event, PromptNeeded):
            threading.Timer(0.1, run.send_input, args=("y",)).start()

    run.emit = watch  # type: ignore[assignment]
    result = run.run("s", Command.of(sys.executable, prog))
    assert result.exit_code == 0
    assert any(isinstance(e, PromptNeeded) and "Overwrite" in e.text for e in emit.events)
    assert "got 'y'" in emit.text


def test_headless_gives_up_on_a_question_nobody_can_answer(tmp_path: Path) -> None:
    prog = script(tmp_path, 'input("Continue? [Y/n] ")')
    result = runner(Collect(), quiet_prompt_after=0.3, give_up_after=0.5).run("s", Command.of(sys.executable, prog))
    assert not result.ok and "Continue?" in result.gave_up


def test_timeout_stops_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    prog = script(tmp_path, f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "300"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        while True:
            print("working", flush=True)
            time.sleep(0.1)
    """)
    result = runner(Collect()).run("s", Command.of(sys.executable, prog, timeout=1.5))
    assert result.timed_out and not result.ok
    child_pid = int(pidfile.read_text())
    assert not Path(f"/proc/{child_pid}").exists() or "Z" in Path(f"/proc/{child_pid}/stat").read_text().split()[2]


def test_environment_and_working_directory_are_passed_as_argv(tmp_path: Path) -> None:
    emit = Collect()
    command = Command.of(sys.executable, "-c", "import os; print(os.getcwd(), os.environ['GREETING'])",
                         env={"GREETING": "hello; rm -rf /"}, cwd=str(tmp_path))
    result = runner(emit).run("s", command)
    assert result.exit_code == 0
    assert f"{tmp_path} hello; rm -rf /" in emit.text


def test_privilege_wraps_without_a_shell() -> None:
    """Root runs the program by absolute path; otherwise sudo -n (never a password prompt) with the fixed
    environment spelled out, since sudo resets it."""
    command = Command.of("true", as_user="pi", env={"HOME": "/home/pi"})
    assert Privilege(is_root=True).argv(command) == ["/usr/bin/true"]
    argv = Privilege(is_root=False).argv(command)
    assert argv[:5] == ["sudo", "-n", "-u", "pi", "--"] and argv[-1] == "/usr/bin/true"
    assert "HOME=/home/pi" in argv and not [a for a in argv if a.startswith("PYTHONPATH")]


def test_commands_get_a_fixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 7: nothing of the wizard's environment leaks, but what a step names (the CA bundle)."""
    monkeypatch.setenv("SOME_TOKEN", "s3cret")
    monkeypatch.setenv("PYTHONPATH", "/home/pi/evil")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    plain = Command.of("true").environment()
    assert "SOME_TOKEN" not in plain and "PYTHONPATH" not in plain and "REQUESTS_CA_BUNDLE" not in plain
    assert plain["PATH"].startswith("/usr/local/sbin") and plain["HOME"] == "/root"
    assert Command.of("certbot", needs=("ca-bundle",)).environment()["REQUESTS_CA_BUNDLE"] == "/etc/ssl/bundle.pem"


# The command writes into the run log itself; the runner reads it back.

def test_output_goes_into_the_run_log_once_in_order(tmp_path: Path) -> None:
    from wizard.events import CommandStarted, StepFinished
    from wizard.transcript import Transcript

    log = tmp_path / "run.log"
    transcript = Transcript(log)
    seen: list[object] = []

    def emit(event: object) -> None:
        transcript(event)  # type: ignore[arg-type]
        seen.append(event)

    run = runner(emit, log=transcript)  # type: ignore[arg-type]
    emit(CommandStarted("s", "prog"))
    prog = script(tmp_path, """
        import sys
        print("to stdout", flush=True)
        print("to stderr", file=sys.stderr, flush=True)
        print("the end")
    """)
    assert run.run("s", Command.of(sys.executable, prog)).exit_code == 0
    emit(StepFinished("s", "done", 0.1))
    transcript.close()
    text = log.read_text()
    assert text.count("to stdout") == text.count("to stderr") == text.count("the end") == 1
    assert text.index("$ prog") < text.index("to stdout") < text.index("the end") < text.index("--- s done")
    outputs = [e for e in seen if isinstance(e, Output)]
    assert outputs and all(e.logged for e in outputs)
    assert "the end" in "".join(e.text for e in outputs)


def test_the_command_never_waits_for_the_wizard(tmp_path: Path) -> None:
    """A listener stuck on the first chunk until the command has written all of its 48 MB: a pipe would
    fill (1 MiB, 16 MiB for root at most) and the command would wait forever; into the log it runs on."""
    from wizard.transcript import Transcript

    finished = tmp_path / "finished"
    prog = script(tmp_path, f"""
        import os
        line = b"x" * 99 + b"\\n"
        for _ in range(480):
            os.write(1, line * 1000)
        open({str(finished)!r}, "w").write("all written")
    """)
    transcript = Transcript(tmp_path / "run.log")
    outputs: list[Output] = []

    def stuck(event: object) -> None:
        if isinstance(event, Output):
            if not outputs:
                deadline = __import__("time").monotonic() + 120
                while not finished.exists() and __import__("time").monotonic() < deadline:
                    threading.Event().wait(0.05)
            outputs.append(event)

    result = runner(stuck, log=transcript).run("s", Command.of(sys.executable, prog))  # type: ignore[arg-type]
    transcript.close()
    assert finished.read_text() == "all written" and result.exit_code == 0
    assert (tmp_path / "run.log").stat().st_size == 48_000_000
    # What was handed on is bounded: the newest part of each poll, and the last lines whole at the end.
    assert sum(len(e.text) for e in outputs) < 2_000_000
    assert sum(e.skipped for e in outputs) > 40_000_000
    assert result.tail.splitlines()[-1] == "x" * 99


def test_follow_all_hands_on_every_byte(tmp_path: Path) -> None:
    """--verbose: every line reaches the listener, in order, however fast the command writes."""
    from wizard.transcript import Transcript

    prog = script(tmp_path, """
        import sys
        sys.stdout.writelines(f"line {i}\\n" for i in range(300000))
    """)
    transcript = Transcript(tmp_path / "run.log")
    emit = Collect()
    result = runner(emit, log=transcript, follow_all=True).run("s", Command.of(sys.executable, prog))
    transcript.close()
    assert result.exit_code == 0
    lines = emit.text.splitlines()
    assert len(lines) == 300000 and lines[0] == "line 0" and lines[-1] == "line 299999"
    assert not any(e.skipped for e in emit.events if isinstance(e, Output))


def test_a_note_during_a_command_waits_until_it_has_ended(tmp_path: Path) -> None:
    """The wizard's own lines never land inside a command's output (where the runner reads it back)."""
    from wizard.events import CommandStarted, StepFinished
    from wizard.transcript import Transcript

    log = tmp_path / "run.log"
    transcript = Transcript(log)
    transcript(CommandStarted("s", "prog"))
    with open(log, "a") as command_output:  # what a command writes through its own descriptor
        command_output.write("half a line, then ")
        command_output.flush()
        transcript(PromptNeeded("s", "Continue? [Y/n]"))
        transcript(Output("s", "a check's result\n"))
        command_output.write("the rest of it\n")
    transcript(StepFinished("s", "done", 1.0))
    transcript.close()
    text = log.read_text()
    assert "half a line, then the rest of it\n" in text
    assert text.index("the rest of it") < text.index("(the command asks: Continue? [Y/n])") \
        < text.index("a check's result") < text.index("--- s done")


def test_without_a_run_log_the_output_still_arrives(tmp_path: Path) -> None:
    """A runner given no log uses a nameless file per command: nothing is left behind in /tmp."""
    import tempfile

    def scratch_files() -> set[Path]:  # only the runner's own: other work on this machine uses /tmp too
        return set(Path(tempfile.gettempdir()).glob("piserver-wizard-output-*"))

    before = scratch_files()
    emit = Collect()
    result = runner(emit).run("s", Command.of("sh", "-c", "echo one; echo two >&2"))
    assert result.exit_code == 0 and emit.text.split() == ["one", "two"]
    assert not any(isinstance(e, Output) and e.logged for e in emit.events)
    assert scratch_files() == before
