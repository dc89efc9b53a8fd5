"""Running commands: the real pexpect runner and the dry-run runner that stands in for it.

Each command gets its own pty, because apt, pip and certbot behave differently (and buffer differently)
without one, and because sudo only asks for a password on a terminal. Output is handed on in chunks as it
arrives, never accumulated, so a million lines of apt cost the same memory as ten.
"""

from __future__ import annotations

import fcntl
import os
import queue
import re
import select
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

from .commands import SUDO_PROMPT, Command, Privilege
from .events import Listener, Output, Prompt, PromptNeeded, Prompter
from .files import FileTransaction, Link, PlannedFile

if TYPE_CHECKING:
    import pexpect

_SUDO_PROMPT_RE = re.compile(re.escape(SUDO_PROMPT.split("%u")[0]) + r"[^\n]*: $")
# A line that looks like a question waiting for an answer: "Continue? [Y/n] ", "Password: ", "> "
_QUESTION_RE = re.compile(r"(\?|:|\]|>|\(y/n\)|\(yes/no\))\s*$", re.IGNORECASE)
TAIL_CHARS = 4000


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    elapsed: float
    tail: str  # the last lines of output, for failure messages
    timed_out: bool = False
    gave_up: str = ""  # why the runner stopped the command, if it did

    @property
    def ok(self) -> bool:
        return not self.timed_out and not self.gave_up


def last_lines(text: str, count: int = 20) -> str:
    from .transcript import strip_ansi

    lines = strip_ansi(text).replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    return "\n".join(lines[-count:])


_REASON_RE = re.compile(r"^\s*(E:|ERROR:|Error:|error:|fatal:|Failed|Certbot failed|Challenge failed|"
                        r"Detail:|Domain:|.*\[emerg\]|An unexpected error|Could not|No such|\S+Error: )")


def reason_in(tail: str) -> str:
    """The line of a failed command's output that says why, in the command's own words."""
    lines = [line.strip() for line in tail.splitlines() if _REASON_RE.match(line)]
    return lines[-1] if lines else ""


class Runner(Protocol):
    """What the engine needs to act on the machine; the real one and the dry one are interchangeable."""

    dry: bool

    def run(self, step_id: str, command: Command) -> CommandResult: ...

    def write(self, tx: FileTransaction, planned: PlannedFile) -> bool: ...

    def link(self, tx: FileTransaction, link: Link) -> bool: ...

    def probe(self, step_id: str, description: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]: ...


PIPE_SIZES = (16 << 20, 1 << 20)  # root may pass /proc/sys/fs/pipe-max-size (1 MiB); others get that


def _widen(pipe_fd: int) -> None:
    """A wide pipe lets a burst of output land while we are busy (the transcript, the TUI repainting):
    the command never waits on us. The kernel only uses the pages a burst really fills."""
    for size in PIPE_SIZES:
        try:
            fcntl.fcntl(pipe_fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
            return
        except OSError:
            continue  # capped lower: the default 64 KiB still works


def _spawn_with_output_pipe(argv: list[str], env: dict[str, str], dimensions: tuple[int, int],
                            write_end: int) -> "pexpect.spawn":
    """pexpect's spawn (own session, the pty as controlling terminal), with stdout/stderr on a pipe."""
    import pexpect

    class Spawn(pexpect.spawn):  # type: ignore[misc]
        def _spawnpty(self, args: list[str], **kwargs: object) -> object:
            kwargs["pass_fds"] = (write_end,)
            return super()._spawnpty(args, **kwargs)

    def to_pipe() -> None:
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)

    return Spawn(argv[0], argv[1:], env=env, echo=False, dimensions=dimensions, timeout=None,
                 preexec_fn=to_pipe)


def _generate_secret() -> str:
    import secrets

    return secrets.token_hex(32) + "\n"


@dataclass
class PexpectRunner:
    """Runs commands for real, each in its own pty, streaming output to ``emit`` as it comes."""

    emit: Listener
    prompter: Prompter | None = None
    privilege: Privilege = field(default_factory=Privilege)
    interactive: bool = False  # a person can answer an unforeseen prompt (the TUI)
    quiet_prompt_after: float = 4.0  # seconds of silence after a question before we call it a prompt
    give_up_after: float = 60.0  # headless: how long an unanswered question may wait before we stop it
    dimensions: tuple[int, int] = (24, 132)
    dry: bool = False
    _input: "queue.Queue[str]" = field(default_factory=queue.Queue)
    _cancel: bool = False

    def send_input(self, text: str) -> None:
        """Queue a line for the running command (the TUI's input line); safe from any thread."""
        self._input.put(text)

    def cancel(self) -> None:
        self._cancel = True

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(TERM="dumb", LC_ALL="C.UTF-8", LANG="C.UTF-8", DEBIAN_FRONTEND="noninteractive",
                   PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONUNBUFFERED="1")
        env.pop("NO_COLOR", None)
        return env

    def run(self, step_id: str, command: Command) -> CommandResult:
        argv = self.privilege.argv(command)
        started = time.monotonic()
        read_end, write_end = os.pipe()
        _widen(read_end)
        try:
            child = _spawn_with_output_pipe(argv, self._environment(), self.dimensions, write_end)
        finally:
            os.close(write_end)
        self._cancel = False
        try:
            return self._pump(step_id, command, child, read_end, started)
        finally:
            os.close(read_end)
            if child.isalive():
                self._stop(child)
            child.close()

    def _pump(self, step_id: str, command: Command, child: "pexpect.spawn", out_fd: int,
              started: float) -> CommandResult:
        """Read the output pipe and the terminal until the command is done, answering what asks.

        Output (stdout and stderr) comes through a pipe: a pty moves a flood of lines at half the speed
        and would slow apt itself. The pty stays the command's terminal, so sudo's password prompt and
        anything else that talks to /dev/tty reach us, and programs still find a terminal on stdin.
        """
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        tty_fd = child.child_fd
        tail = ""
        last_output = started
        asked_at: float | None = None
        gave_up = ""
        timed_out = False
        out_open, tty_open = True, True
        exited_at: float | None = None
        while out_open or tty_open:
            watched = [fd for fd, is_open in ((out_fd, out_open), (tty_fd, tty_open)) if is_open]
            ready, _, _ = select.select(watched, [], [], 0.2)
            now = time.monotonic()
            chunk = ""
            for fd in ready:
                try:
                    data = os.read(fd, 1 << 20)
                except OSError:  # EIO: the terminal's last user closed it
                    data = b""
                if not data:
                    if fd == out_fd:
                        out_open = False
                    else:
                        tty_open = False
                    continue
                chunk += decoder.decode(data) if fd == out_fd else data.decode("utf-8", "replace")
            if self._cancel:
                gave_up = "cancelled"
                break
            if now - started > command.timeout:
                timed_out = True
                break
            if chunk:
                self.emit(Output(step_id, chunk))
                tail = (tail + chunk)[-TAIL_CHARS:]
                last_output = now
                asked_at = None
                if _SUDO_PROMPT_RE.search(tail):
                    answer = self.prompter(Prompt(step_id, "sudo password", True)) if self.prompter else None
                    if answer is None:
                        gave_up = "sudo asked for a password and none was given (run as root or set up sudo)"
                        break
                    child.sendline(answer)
                    del answer
                    tail += "\n"
                continue
            if not child.isalive():
                # Done; a daemon it started may still hold the pipe: stop listening shortly after.
                exited_at = exited_at or now
                if now - exited_at > 0.5:
                    break
                continue
            while not self._input.empty():
                child.sendline(self._input.get_nowait())
                asked_at = None
                last_output = now
            line = tail.rsplit("\n", 1)[-1]
            if asked_at is None and now - last_output > self.quiet_prompt_after and line.strip() \
                    and _QUESTION_RE.search(line):
                asked_at = now
                self.emit(PromptNeeded(step_id, line.strip()))
            if asked_at is not None and not self.interactive and now - asked_at > self.give_up_after:
                gave_up = f"the command waited for input nobody could give: {line.strip()!r}"
                break
        rest = decoder.decode(b"", final=True)
        if rest:
            self.emit(Output(step_id, rest))
            tail = (tail + rest)[-TAIL_CHARS:]
        if not (timed_out or gave_up):
            # Its output is closed, so it is ending: give it the moment it needs to exit by itself.
            deadline = time.monotonic() + 10.0
            while child.isalive() and time.monotonic() < deadline:
                time.sleep(0.01)
        if child.isalive():
            self._stop(child)
        child.close()
        if child.exitstatus is not None:
            code = child.exitstatus
        else:
            code = 128 + (child.signalstatus or 0)
        return CommandResult(code, time.monotonic() - started, last_lines(tail), timed_out, gave_up)

    @staticmethod
    def _stop(child: "pexpect.spawn") -> None:
        """Stop the whole process group the pty leads: apt's dpkg children must not linger."""
        pid = child.pid
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not child.isalive():
                    return
                time.sleep(0.05)

    def write(self, tx: FileTransaction, planned: PlannedFile) -> bool:
        return tx.write(planned, _generate_secret)

    def link(self, tx: FileTransaction, link: Link) -> bool:
        return tx.link(link)

    def probe(self, step_id: str, description: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        return check()


@dataclass
class DryRunner:
    """Stands in for the real runner: says what it would do, changes nothing, and every action succeeds."""

    emit: Listener
    dry: bool = True

    def run(self, step_id: str, command: Command) -> CommandResult:
        return CommandResult(0, 0.0, "")  # the engine has already announced the command

    def write(self, tx: FileTransaction, planned: PlannedFile) -> bool:
        if planned.is_current():
            return False
        self.emit(Output(tx.step_id, f"would write {planned.path}\n{planned.diff()}"))
        return True

    def link(self, tx: FileTransaction, link: Link) -> bool:
        if link.is_current():
            return False
        self.emit(Output(tx.step_id, f"would {link.describe()}\n"))
        return True

    def probe(self, step_id: str, description: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        return True, f"would check: {description}"
