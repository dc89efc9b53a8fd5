"""The pexpect runner against real programs that print, prompt, hang and fail."""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path

from wizard.commands import SUDO_PROMPT, Command, Privilege
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


def test_sudo_style_password_prompt_goes_to_the_prompter_and_not_the_output(tmp_path: Path) -> None:
    prog = script(tmp_path, f"""
        import getpass, sys
        secret = getpass.getpass({SUDO_PROMPT.replace('%u', 'pi')!r})
        print("match" if secret == "hunter2-correct" else "mismatch")
    """)
    emit = Collect()
    asked = []

    def prompter(prompt):  # type: ignore[no-untyped-def]
        asked.append(prompt)
        return "hunter2-correct"

    result = runner(emit, prompter=prompter).run("s", Command.of(sys.executable, prog))
    assert result.exit_code == 0
    assert [p.secret for p in asked] == [True]
    assert "match" in emit.text and "mismatch" not in emit.text
    assert "hunter2-correct" not in emit.text and "hunter2-correct" not in result.tail


def test_no_password_means_the_command_is_stopped(tmp_path: Path) -> None:
    prog = script(tmp_path, f"""
        import getpass
        getpass.getpass({SUDO_PROMPT.replace('%u', 'pi')!r})
    """)
    result = runner(Collect(), prompter=lambda prompt: None).run("s", Command.of(sys.executable, prog))
    assert not result.ok and "password" in result.gave_up


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
    command = Command.of("pip", "install", "flask", as_user="pi", env={"HOME": "/home/pi"})
    assert Privilege(is_root=True).argv(command) == ["runuser", "-u", "pi", "--", "env", "HOME=/home/pi",
                                                     "pip", "install", "flask"]
    argv = Privilege(is_root=False).argv(Command.of("nginx", "-t"))
    assert argv[0] == "sudo" and argv[-3:] == ["--", "nginx", "-t"]
