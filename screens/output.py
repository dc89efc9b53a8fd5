"""Each step's output as the run screen keeps it: ANSI removed, bounded, ready to reopen.

No Textual here. Chunks arrive as the pty gave them (partial lines, carriage-return progress bars, colour
codes); :class:`StepOutput` turns them into plain text for the ``Log`` widget and remembers only the last
``max_lines`` lines, so a step that prints a million lines costs as much memory as one that prints 2000.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from wizard.transcript import strip_ansi
from wizard.units import size_text

MAX_LINES = 2000


def clean(text: str) -> str:
    """Plain text: no ANSI codes, newlines only; within a chunk a carriage return overwrites its line."""
    text = strip_ansi(text).replace("\r\n", "\n")
    if "\r" in text:
        text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))
    return text.replace("\t", "    ")


class StepOutput:
    """The last ``max_lines`` complete lines of a step, plus the line still being written."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.lines: deque[str] = deque(maxlen=max_lines)
        self.partial = ""

    def feed(self, text: str, cut: bool = False) -> list[str]:
        """Add cleaned text (``cut``: its start was dropped, so the line in progress ended).

        Returns the lines this completed, for the pane showing the step; ``partial`` is the rest."""
        completed: list[str] = []
        if cut and self.partial:
            completed.append(self.partial)
            self.partial = ""
        if text:
            parts = (self.partial + text).split("\n")
            self.partial = parts.pop()
            completed.extend(parts)
        self.lines.extend(completed)
        return completed

    def text(self) -> str:
        body = "\n".join(self.lines)
        if self.lines:
            body += "\n"
        return body + self.partial

    def tail(self, count: int) -> list[str]:
        lines = list(self.lines)[-count:]
        if self.partial:
            lines = (lines + [self.partial])[-count:]
        return lines


def cut_to_last_lines(raw: str, count: int) -> tuple[str, bool]:
    """The last ``count`` lines of raw output, cut before any per-character work (ANSI stripping);
    the flag says whether anything was dropped."""
    if raw.count("\n") <= count:
        return raw, False
    return "\n".join(raw.rsplit("\n", count + 1)[1:]), True


def last_lines(text: str, count: int) -> str:
    """At most ``count`` lines from the end of ``text``, so a flood is cut before it reaches a widget."""
    if text.count("\n") <= count:
        return text
    return "\n".join(text.split("\n")[-count - 1:])


PENDING_LIMIT = 1 << 20  # characters of one step's output held between two flushes
FLOOD_LINES = 200  # lines a flush adds to the followed pane at most


@dataclass(frozen=True)
class Batch:
    """One step's output gathered since the last flush, cleaned, ready for its ``StepOutput``."""

    step_id: str
    text: str
    cut: bool  # its start was dropped: the line that was in progress ended there
    gap: int  # bytes the runner did not read back before it (0: none)


class OutputBuffer:
    """What arrives between two repaints, per step: commands and output chunks, bounded, then taken whole.

    The run screen's message handlers only append here (no per-line work, no widget), and a timer takes
    the batches ten times a second. A flood between two takes drops its oldest chunks, so memory stays
    bounded by ``limit`` characters per step however fast the command writes; the log file keeps it all.
    """

    def __init__(self, limit: int = PENDING_LIMIT) -> None:
        self.limit = limit
        self._chunks: dict[str, list[str]] = {}
        self._size: dict[str, int] = {}
        self._cut: set[str] = set()
        self._skipped: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._chunks)

    def pending_chars(self) -> int:
        """Characters held now, all steps together (the flood benchmark watches this stay bounded)."""
        return sum(self._size.values())

    def command(self, step_id: str, display: str) -> None:
        self._chunks.setdefault(step_id, []).append(f"$ {display}\n")
        self._size[step_id] = self._size.get(step_id, 0) + len(display) + 3

    def output(self, step_id: str, text: str, skipped: int = 0) -> None:
        """A chunk; ``skipped``: bytes the runner passed over before it (the line in progress ended)."""
        if skipped:
            self._skipped[step_id] = self._skipped.get(step_id, 0) + skipped
            self._cut.add(step_id)
        chunks = self._chunks.setdefault(step_id, [])
        chunks.append(text)
        size = self._size.get(step_id, 0) + len(text)
        while len(chunks) > 1 and size - len(chunks[0]) >= self.limit:  # whole chunks: no per-line work
            size -= len(chunks.pop(0))
            self._cut.add(step_id)
        self._size[step_id] = size

    def take(self, max_lines: int = MAX_LINES) -> list[Batch]:
        """Everything gathered, per step, cut to its last ``max_lines`` lines before any cleaning."""
        chunks, cut, skipped = self._chunks, self._cut, self._skipped
        self._chunks, self._cut, self._skipped, self._size = {}, set(), {}, {}
        batches = []
        for step_id, parts in chunks.items():
            raw, dropped = cut_to_last_lines("".join(parts), max_lines)
            text = clean(raw)
            gap = skipped.get(step_id, 0)
            if gap:  # the step's history says where it has a hole; the log file has no holes
                text = f"… {size_text(gap)} more output, not read back (the log file has it all) …\n" + text
            batches.append(Batch(step_id, text, dropped or step_id in cut, gap))
        return batches


def for_pane(completed: list[str], gap: int, flood_lines: int = FLOOD_LINES,
             max_lines: int = MAX_LINES) -> tuple[list[str], bool]:
    """The lines a flush adds to the pane, and whether a flood is on.

    A flood sends more per tick than anyone reads: the pane gets the newest ``flood_lines`` and a note;
    the step keeps its last ``max_lines`` (reopening it shows them), the log file all of them.
    """
    flooding = len(completed) > flood_lines or bool(gap)
    if len(completed) > flood_lines:
        hidden = len(completed) - flood_lines
        more = f"{hidden:,} more lines" + (f" and {size_text(gap)} more output" if gap else "")
        completed = [f"… {more} (selecting the step shows the last {max_lines:,}; the log file has them all) …",
                     *completed[-flood_lines:]]
    return [line or " " for line in completed], flooding
