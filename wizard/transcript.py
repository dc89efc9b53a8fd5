"""The full transcript of a run, on disk, mode 0600: what the screen only shows the tail of."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TextIO

from .events import CommandStarted, Event, Output, PromptNeeded, RunFinished, StepFinished, StepStarted

LOG_DIR = Path(os.environ.get("PISERVER_WIZARD_LOG_DIR", "/var/log/piserver-wizard"))
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text  # the check is far cheaper than the regex


def new_log_path() -> Path:
    return LOG_DIR / time.strftime("run-%Y%m%d-%H%M%S.log")


class Transcript:
    """An event listener that appends everything, ANSI removed, to one file per run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        self._file: TextIO = os.fdopen(fd, "w", encoding="utf-8", errors="replace")

    def __call__(self, event: Event) -> None:
        if isinstance(event, Output):  # the hot path: a flood of output must cost as little as possible
            text = strip_ansi(event.text)
            self._file.write(text.replace("\r\n", "\n") if "\r" in text else text)
            return
        stamp = time.strftime("%H:%M:%S")
        if isinstance(event, StepStarted):
            self._file.write(f"\n[{stamp}] === step {event.index}/{event.total} {event.step_id}: {event.title}\n")
        elif isinstance(event, CommandStarted):
            self._file.write(f"[{stamp}] $ {event.display}\n")
        elif isinstance(event, PromptNeeded):
            self._file.write(f"\n[{stamp}] (the command asks: {event.text})\n")
        elif isinstance(event, StepFinished):
            extra = f": {event.message}" if event.message else ""
            self._file.write(f"[{stamp}] --- {event.step_id} {event.status} in {event.elapsed:.1f} s{extra}\n")
        elif isinstance(event, RunFinished):
            self._file.write(f"[{stamp}] run {'finished' if event.ok else 'failed'} in {event.elapsed:.1f} s\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()
