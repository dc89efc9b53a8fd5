"""Killing a wizard run at a chosen moment, as an SSH drop with no tmux does.

The wizard runs in its own session; when the moment comes (a file written, a line printed) its whole
process group gets SIGKILL. Its commands run on ptys of their own and get the hangup a dropped link
gives them; the helper waits until they are gone, so the next run starts on a quiet machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first), from /proc's children lists."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        try:
            kids = [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            kids = []
        found += kids
        queue += kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@dataclass
class Killed:
    killed: bool  # False: the run ended before the moment came
    returncode: int | None
    output: str
    seconds: float  # from the start of the run to the kill (or its end)
    lines: list[tuple[float, str]] = field(default_factory=list)  # each output line and when it was seen


@dataclass
class Progress:
    """What a moment is judged on: the output so far, line by line with the time each was seen."""

    text: str = ""
    lines: list[tuple[float, str]] = field(default_factory=list)
    now: float = 0.0

    def update(self, text: str, now: float) -> None:
        self.now = now
        complete = text[:text.rfind("\n") + 1]
        if len(complete) > len(self.text[:self.text.rfind("\n") + 1]):
            done = self.text[:self.text.rfind("\n") + 1].count("\n")
            self.lines += [(now, line) for line in complete.split("\n")[done:-1]]
        self.text = text


def run_until(argv: list[str], moment: Callable[[Progress], bool] | None, env: dict[str, str], log: Path,
              timeout: float = 1800.0, poll: float = 0.002) -> Killed:
    """Start ``argv``; SIGKILL its process group the first time ``moment(progress)`` is true (None: never)."""
    started = time.monotonic()
    progress = Progress()
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    while proc.poll() is None and time.monotonic() - started < timeout:
        progress.update(log.read_text(errors="replace"), time.monotonic() - started)
        if moment is not None and moment(progress):
            below = descendants(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            at = time.monotonic() - started
            proc.wait(30)
            _wait_gone(below)
            return Killed(True, proc.returncode, log.read_text(errors="replace"), at, progress.lines)
        time.sleep(poll)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    progress.update(log.read_text(errors="replace") + "\n", time.monotonic() - started)
    return Killed(False, proc.returncode, progress.text, time.monotonic() - started, progress.lines)


def _wait_gone(pids: list[int], timeout: float = 120.0) -> None:
    """Commands on their own ptys die of the hangup (apt and dpkg take a moment to notice)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            raise AssertionError(f"process {pid} outlived the killed wizard by {timeout:.0f} s")


def file_says(path: str, text: str = "") -> Callable[[Progress], bool]:
    """The moment a file exists (and holds ``text``): right after the wizard's atomic rename."""
    def check(_progress: Progress) -> bool:
        try:
            return text in Path(path).read_text(errors="replace")
        except OSError:
            return False
    return check
