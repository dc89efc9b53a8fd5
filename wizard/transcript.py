"""The run log, on disk, mode 0600: the wizard's own lines and every command's whole output.

Commands write their output into this file themselves (the runner hands them ``append_fd`` as stdout and
stderr): a write to a regular file never waits for a reader, so a command runs as fast under the wizard
as it does bare, however slow the screen, the SSH link or a Pi Zero's one core. The runner reads the
file back (``read_fd``) for what the front ends show. The wizard's own lines go through the same
append-only file, unbuffered, so they keep their place between the commands' writes.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from .events import CommandStarted, Event, Output, PromptNeeded, RunFinished, StepFinished, StepStarted

LOG_DIR = Path(os.environ.get("PISERVER_WIZARD_LOG_DIR", "/var/log/piserver-wizard"))
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text  # the check is far cheaper than the regex


def new_log_path() -> Path:
    return LOG_DIR / time.strftime("run-%Y%m%d-%H%M%S.log")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Transcript:
    """An event listener that appends the wizard's side of a run to the log the commands write into.

    Output already in the file (``Output.logged``) is not written again. While a command runs, the
    wizard's own notes (a prompt seen, a check's result) are held back and written before the next step
    or command line, so they never land inside the command's output as the runner reads it back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.append_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        os.fchmod(self.append_fd, 0o600)
        self.read_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._command_running = False
        self._held: list[str] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, Output):
            if not event.logged:
                text = strip_ansi(event.text)
                self._note(text.replace("\r\n", "\n") if "\r" in text else text)
            return
        if isinstance(event, PromptNeeded):
            self._note(f"\n[{_stamp()}] (the command asks: {event.text})\n")
            return
        self._command_running = False
        held, self._held = "".join(self._held), []
        if isinstance(event, StepStarted):
            line = f"\n[{_stamp()}] === step {event.index}/{event.total} {event.step_id}: {event.title}\n"
        elif isinstance(event, CommandStarted):
            line = f"[{_stamp()}] $ {event.display}\n"
            self._command_running = True
        elif isinstance(event, StepFinished):
            extra = f": {event.message}" if event.message else ""
            line = f"[{_stamp()}] --- {event.step_id} {event.status} in {event.elapsed:.1f} s{extra}\n"
        elif isinstance(event, RunFinished):
            line = f"[{_stamp()}] run {'finished' if event.ok else 'failed'} in {event.elapsed:.1f} s\n"
        else:
            line = ""
        self._write(held + line)

    def _note(self, text: str) -> None:
        if self._command_running:
            self._held.append(text)
        else:
            self._write(text)

    def _write(self, text: str) -> None:
        if text and self.append_fd >= 0:
            write_all(self.append_fd, text.encode("utf-8", "replace"))

    def close(self) -> None:
        held, self._held = "".join(self._held), []
        self._write(held)
        for fd in (self.append_fd, self.read_fd):
            if fd >= 0:
                os.close(fd)
        self.append_fd = self.read_fd = -1


def _stamp() -> str:
    return time.strftime("%H:%M:%S")
