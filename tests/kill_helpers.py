"""Killing a wizard run at a chosen moment, as an SSH drop with no tmux does.

The wizard runs in its own session; when the moment comes (a file written, a line printed, half of a
command's usual time gone) its whole process group gets SIGKILL. Its commands run on ptys of their own
and get the hangup a dropped link gives them; the helper waits until they are gone, so the next run
starts on a quiet machine.

The moments for a `--verbose` run are judged on its lines: ``[ 3/15] Title ... `` opens a step,
``  $ command`` starts a command, ``  -> done (1.2 s)`` ends a step.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

STEP = re.compile(r"^\[\s*(\d+)/(\d+)\] (.*?) \.\.\. ")
COMMAND = re.compile(r"^  \$ (.*)$")
STEP_END = "  -> "


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
    lingered: float = 0.0  # how long its commands outlived the kill (apt and dpkg finish what they were at)


@dataclass
class Progress:
    """What a moment is judged on: the output so far, line by line with the time each was seen.

    Fed incrementally (only the bytes new since the last look), so polling a long apt log stays cheap."""

    text: str = ""
    lines: list[tuple[float, str]] = field(default_factory=list)
    now: float = 0.0
    _partial: str = ""

    def feed(self, new: str, now: float) -> None:
        self.now = now
        if not new:
            return
        self.text += new
        pieces = (self._partial + new).split("\n")
        self._partial = pieces.pop()
        self.lines += [(now, line) for line in pieces]

    def finish(self, now: float) -> None:
        """The run ended: a last line without its newline counts too."""
        self.now = now
        if self._partial:
            self.lines.append((now, self._partial))
            self._partial = ""


def run_until(argv: list[str], moment: Callable[[Progress], bool] | None, env: dict[str, str], log: Path,
              timeout: float = 1800.0, poll: float = 0.002) -> Killed:
    """Start ``argv``; SIGKILL its process group the first time ``moment(progress)`` is true (None: never)."""
    started = time.monotonic()
    progress = Progress()
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    with open(log, "rb") as reader:
        while proc.poll() is None and time.monotonic() - started < timeout:
            progress.feed(reader.read().decode(errors="replace"), time.monotonic() - started)
            if moment is not None and moment(progress):
                below = descendants(proc.pid)
                os.killpg(proc.pid, signal.SIGKILL)
                at = time.monotonic() - started
                proc.wait(30)
                _wait_gone(below)
                lingered = time.monotonic() - started - at
                return Killed(True, proc.returncode, log.read_text(errors="replace"), at, progress.lines, lingered)
            time.sleep(poll)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        progress.feed(reader.read().decode(errors="replace"), time.monotonic() - started)
    progress.finish(time.monotonic() - started)
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


@dataclass
class TimedCommand:
    display: str
    seconds: float
    lines: int = 0  # output lines it printed in the reference run


CHATTY = 6  # a command printing at least this many lines is cut in its middle by its output, not the clock


@dataclass
class StepPlan:
    """One step of a reference run: its title and the commands it ran, each with how long it took."""

    index: int
    title: str
    commands: list[TimedCommand] = field(default_factory=list)

    @property
    def longest(self) -> TimedCommand | None:
        return max(self.commands, key=lambda c: c.seconds, default=None)


def parse_reference(lines: list[tuple[float, str]]) -> list[StepPlan]:
    """Steps and their commands with how long each took, from a --verbose run's timed lines."""
    steps: list[StepPlan] = []
    open_command: tuple[float, str] | None = None
    printed = 0
    for at, line in lines:
        step, command = STEP.match(line), COMMAND.match(line)
        if (step or command or line.startswith(STEP_END)) and open_command and steps:
            steps[-1].commands.append(TimedCommand(open_command[1], at - open_command[0], printed))
            open_command = None
        if step:
            steps.append(StepPlan(int(step.group(1)), step.group(3)))
        elif command:
            open_command, printed = (at, command.group(1)), 0
        elif open_command:
            printed += 1
    return steps


def step_line(progress: Progress, title: str) -> int | None:
    """Where the step opened, by title: after a kill in dpkg the run has a repair step first, so numbers shift."""
    for number, (_, line) in enumerate(progress.lines):
        if (m := STEP.match(line)) and m.group(3) == title:
            return number
    return None


def _ends_command(line: str) -> bool:
    return bool(COMMAND.match(line) or STEP.match(line) or line.startswith(STEP_END))


@dataclass
class Moment:
    """When to kill: a step's start (``where="start"``), or the middle of its longest command (``"mid"``:
    once it printed half the lines it printed in the reference run, or, for a quiet one, half the time
    it took there: a machine busier or idler than during the reference moves the clock, not the output).

    Lines are told apart by their place in the output, never by the time they were seen: several lines
    read in one poll share a time, and a step's header seen with its first command is no later line."""

    step: StepPlan
    where: str
    note: str = ""

    def __call__(self, progress: Progress) -> bool:
        opened = step_line(progress, self.step.title)
        if opened is None:
            return False
        if self.where == "start":
            self.note = "start"
            return True
        longest = self.step.longest
        assert longest is not None, f"{self.step.title}: no command to kill in the middle of"
        after = progress.lines[opened + 1:]
        began = next((n for n, (_, line) in enumerate(after) if line == f"  $ {longest.display}"), None)
        if began is None:
            if any(line.startswith(STEP_END) for _, line in after):
                self.note = f"{short(longest.display)}: not run (found done); killed at the step's end"
                return True
            return False
        since = progress.now - after[began][0]
        if any(_ends_command(line) for _, line in after[began + 1:]):
            self.note = f"{short(longest.display)}: ended before its middle (+{since:.2f} s); killed just after"
            return True
        if longest.lines >= CHATTY:
            if began + 1 + longest.lines // 2 <= len(after):
                self.note = (f"{short(longest.display)}: line {longest.lines // 2} of {longest.lines}, "
                             f"+{since:.1f} s, at {after[-1][1].strip()[:40]!r}")
                return True
        elif since >= longest.seconds / 2:
            self.note = f"{short(longest.display)}: +{since:.1f} s of {longest.seconds:.1f} s"
            return True
        return False


def short(display: str) -> str:
    """A command as a table shows it: its first words, without env, options and (as user) prefixes."""
    words = [w for w in display.split() if "=" not in w and not w.startswith(("-", "(")) and not w.endswith(")")]
    return " ".join([Path(words[0]).name, *words[1:3]]) if words else display[:30]


def outcome(output: str) -> dict[str, str]:
    """Step title -> what the run said of it: done, already done, FAILED (absent: not reached)."""
    said: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if m := STEP.match(line):
            current = m.group(3)
            rest = line[m.end():]
            if rest.startswith(("already done", "done", "FAILED")):
                said[current] = rest.split(" (")[0]
        elif line.startswith(STEP_END) and current is not None:
            said[current] = line[len(STEP_END):].split(" (")[0]
    return said


def finished_at(lines: list[tuple[float, str]], title: str) -> float | None:
    """When a step was seen to end (its "-> done" line), in seconds from the start of the run."""
    inside = False
    for at, line in lines:
        if m := STEP.match(line):
            inside = m.group(3) == title
            if inside and line[m.end():].startswith(("already done", "done")):
                return at
        elif inside and line.startswith(STEP_END):
            return at
    return None
