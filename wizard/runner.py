"""Running commands: the real pexpect runner and the dry-run runner that stands in for it.

Root's commands each get their own pty as their terminal (a question nobody foresaw reaches a person) and
write their output straight into the run log, because a file never makes a writer wait. Output is read back
and handed on in chunks as it arrives, never accumulated, so a million lines of apt cost the same memory
as ten; during a flood only the newest part of each poll is read back.

The app user's commands (venv, pip, the import check) are another matter: that user is not trusted, so
they get neither the run log's descriptor nor a terminal whose output is read for questions. They run
dropped to the user's ids, in a session of their own, with stdin from /dev/null and their output relayed
through a pipe (they are never floods).
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

from .commands import Command, Privilege
from .events import Listener, Output, PromptNeeded
from .files import AppFolder, FileTransaction, Link, PlannedFile
from .transcript import write_all

if TYPE_CHECKING:
    import pexpect

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

    def folder(self, step_id: str, folder: AppFolder) -> bool: ...

    def probe(self, step_id: str, description: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]: ...

    def send_input(self, text: str) -> None:
        """A line for the running command: a person's answer to a question it asked (PromptNeeded)."""

    def cancel(self) -> None:
        """End the command running now (the engine starts no other once its run is stopped)."""


POLL_SECONDS = 0.1  # how often the log is read back while a command runs (the pty wakes us at once)
SHOW_BYTES = 64 << 10  # read back per poll at most: far more than a pane shows in that time
TAIL_BYTES = 256 << 10  # read back when a command ends: its last lines whole (a step keeps 2,000)
FOLLOW_BYTES = 1 << 20  # read back per turn when every byte is wanted (--verbose)


class CommandLog(Protocol):
    """Where commands write their output: a file open for appending, and a descriptor to read it back."""

    append_fd: int
    read_fd: int


class _ScratchLog:
    """A nameless file for the output when the caller keeps no run log (a one-off command, a test)."""

    def __init__(self) -> None:
        import tempfile

        fd, name = tempfile.mkstemp(prefix="piserver-wizard-output-")
        os.unlink(name)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        self.append_fd = self.read_fd = fd

    def close(self) -> None:
        os.close(self.append_fd)


class _LogReader:
    """Reads a command's output back from the log as it grows, from where the command started.

    Only the newest ``SHOW_BYTES`` of a poll are read (cut at a line start), unless every byte is wanted:
    a flood costs the wizard what it shows, not what the command wrote. The log file keeps it all.
    """

    def __init__(self, fd: int, follow_all: bool) -> None:
        import codecs

        self.fd, self.follow_all = fd, follow_all
        self.offset = os.fstat(fd).st_size
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.behind = False  # follow_all: more is waiting than one turn reads

    def read(self, final: bool) -> tuple[str, int]:
        """New text, and how many bytes before it were passed over. ``final``: the command has ended."""
        size = os.fstat(self.fd).st_size
        new = size - self.offset
        self.behind = False
        if new <= 0:
            return (self._decoder.decode(b"", final=True) if final else ""), 0
        skipped = 0
        if self.follow_all:
            data = os.pread(self.fd, min(new, FOLLOW_BYTES), self.offset)
            self.behind = len(data) < new
        else:
            limit = TAIL_BYTES if final else SHOW_BYTES
            if new <= limit:
                data = os.pread(self.fd, new, self.offset)
            else:
                data = os.pread(self.fd, limit, size - limit)
                start = data.find(b"\n") + 1  # a whole line first (and never half a UTF-8 character)
                if 0 < start < len(data):
                    data = data[start:]
                skipped = new - len(data)
                self._decoder.reset()
        self.offset += skipped + len(data)
        return self._decoder.decode(data, final=final and not self.behind), skipped


def _spawn_with_output_to(argv: list[str], env: dict[str, str], dimensions: tuple[int, int],
                          output_fd: int, cwd: str | None) -> "pexpect.spawn":
    """pexpect's spawn (own session, the pty as controlling terminal), with stdout/stderr on ``output_fd``."""
    import pexpect

    class Spawn(pexpect.spawn):  # type: ignore[misc]
        def _spawnpty(self, args: list[str], **kwargs: object) -> object:
            kwargs["pass_fds"] = (output_fd,)
            return super()._spawnpty(args, **kwargs)

    def to_log() -> None:
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        if output_fd > 2:
            os.close(output_fd)

    return Spawn(argv[0], argv[1:], env=env, echo=False, dimensions=dimensions, timeout=None,
                 preexec_fn=to_log, cwd=cwd or "/")


@dataclass
class _Follow:
    """One command being followed: its terminal, its output read back from the log, a question it asks."""

    runner: "PexpectRunner"
    step_id: str
    command: Command
    child: "pexpect.spawn"
    log: CommandLog
    reader: _LogReader
    started: float
    tty_open: bool = True
    tail: str = ""
    asked_at: float | None = None
    ended_at: float | None = None
    gave_up: str = ""
    timed_out: bool = False

    def __post_init__(self) -> None:
        self.last_output = self.started

    def turn(self) -> bool:
        """One poll; True when following is over (the command ended and all is handed on, or it is stopped)."""
        ended = not self.child.isalive()  # first: whatever it wrote before it ended is in the file now
        ready = self._drain_terminal(0.0 if ended or self.reader.behind else POLL_SECONDS)
        chunk, skipped = self.reader.read(final=ended)
        now = time.monotonic()
        if self.runner._cancel:
            self.gave_up = "cancelled"
            return True
        if now - self.started > self.command.timeout:
            self.timed_out = True
            return True
        if chunk or skipped:
            self._hand_on(chunk, skipped, now)
        if ended:
            self.ended_at = self.ended_at or now
            # more to hand on: what it wrote last, or its terminal's last words
            return not (self.reader.behind or (ready and now - self.ended_at < 0.5))
        if chunk or skipped:
            return False
        return self._quiet(now)

    def _drain_terminal(self, wait: float) -> bool:
        """What the command wrote to its terminal goes into the log with the rest."""
        ready, _, _ = select.select([self.child.child_fd] if self.tty_open else [], [], [], wait)
        if ready:
            try:
                data = os.read(self.child.child_fd, 1 << 16)
            except OSError:  # EIO: the terminal's last user closed it
                data = b""
            if data:
                write_all(self.log.append_fd, data)
            else:
                self.tty_open = False
        return bool(ready)

    def _hand_on(self, chunk: str, skipped: int, now: float) -> None:
        self.runner.emit(Output(self.step_id, chunk, skipped, self.runner.log is not None))
        self.tail = (("" if skipped else self.tail) + chunk)[-TAIL_CHARS:]  # after a gap the old tail ends
        self.last_output = now
        self.asked_at = None

    def _quiet(self, now: float) -> bool:
        """No output this turn: send what a person typed, or tell them the command seems to ask."""
        while not self.runner._input.empty():
            self.child.sendline(self.runner._input.get_nowait())
            self.asked_at = None
            self.last_output = now
        line = self.tail.rsplit("\n", 1)[-1]
        if self.asked_at is None and now - self.last_output > self.runner.quiet_prompt_after and line.strip() \
                and _QUESTION_RE.search(line):
            self.asked_at = now
            self.runner.emit(PromptNeeded(self.step_id, line.strip()))
        if self.asked_at is not None and not self.runner.interactive \
                and now - self.asked_at > self.runner.give_up_after:
            self.gave_up = f"the command waited for input nobody could give: {line.strip()!r}"
            return True
        return False


@dataclass
class PexpectRunner:
    """Runs commands for real, each in its own pty, streaming output to ``emit`` as it comes."""

    emit: Listener
    privilege: Privilege = field(default_factory=Privilege)
    interactive: bool = False  # a person can answer an unforeseen prompt (the TUI)
    quiet_prompt_after: float = 4.0  # seconds of silence after a question before we call it a prompt
    give_up_after: float = 60.0  # headless: how long an unanswered question may wait before we stop it
    dimensions: tuple[int, int] = (24, 132)
    log: CommandLog | None = None  # the run log commands write into; None: a nameless file per command
    follow_all: bool = False  # hand on every byte of output (--verbose), not just the newest of a flood
    dry: bool = False
    _input: "queue.Queue[str]" = field(default_factory=queue.Queue)
    _cancel: bool = False

    def send_input(self, text: str) -> None:
        """Queue a line for the running command (the TUI's input line); safe from any thread."""
        self._input.put(text)

    def cancel(self) -> None:
        """End the running command; a later ``run`` starts afresh (the engine decides whether one comes)."""
        self._cancel = True

    def run(self, step_id: str, command: Command) -> CommandResult:
        self._cancel = False
        if command.as_user:
            return self._run_as_user(step_id, command)
        argv = self.privilege.argv(command)
        started = time.monotonic()
        scratch = _ScratchLog() if self.log is None else None
        log = self.log or scratch
        assert log is not None
        try:
            reader = _LogReader(log.read_fd, self.follow_all)
            env = command.environment() if self.privilege.is_root else {"PATH": "/usr/bin:/bin", "TERM": "dumb"}
            child = _spawn_with_output_to(argv, env, self.dimensions, log.append_fd, command.cwd)
            try:
                return self._pump(step_id, command, child, log, reader, started)
            finally:
                if child.isalive():
                    self._stop(child)
                child.close()
        finally:
            if scratch is not None:
                scratch.close()

    def _pump(self, step_id: str, command: Command, child: "pexpect.spawn", log: CommandLog,
              reader: _LogReader, started: float) -> CommandResult:
        """Follow the command's output in the log and its terminal until it ends, answering what asks.

        The command writes stdout and stderr straight into the log file, so it never waits for us: a
        pipe makes a flood of output wait on its reader (even ``cat``), and a pty halves its speed. The
        pty stays the command's terminal, so anything that talks to /dev/tty reaches us; what comes that
        way is added to the log too, and read back with the rest.
        """
        follow = _Follow(self, step_id, command, child, log, reader, started)
        while not follow.turn():
            pass
        if child.isalive() and not (follow.timed_out or follow.gave_up):
            deadline = time.monotonic() + 10.0
            while child.isalive() and time.monotonic() < deadline:
                time.sleep(0.01)
        if child.isalive():
            self._stop(child)
        child.close()
        code = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
        return CommandResult(code, time.monotonic() - started, last_lines(follow.tail), follow.timed_out,
                             follow.gave_up)

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
        return tx.write(planned)

    def link(self, tx: FileTransaction, link: Link) -> bool:
        return tx.link(link)

    def folder(self, step_id: str, folder: AppFolder) -> bool:
        return folder.make()

    def _run_as_user(self, step_id: str, command: Command) -> CommandResult:
        from .runas import run_as_user

        return run_as_user(command, self.privilege.is_root, lambda text: self.emit(Output(step_id, text)),
                           lambda: self._cancel)

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

    def folder(self, step_id: str, folder: AppFolder) -> bool:
        if folder.is_current():
            return False
        self.emit(Output(step_id, f"would {folder.describe()}\n"))
        return True

    def probe(self, step_id: str, description: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        return True, f"would check: {description}"

    def send_input(self, text: str) -> None:
        """Nothing runs, so nothing asks."""

    def cancel(self) -> None:
        """Nothing runs, so nothing is ended; the engine's stop is enough."""
