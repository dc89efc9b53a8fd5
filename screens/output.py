"""Each step's output as the run screen keeps it: ANSI removed, bounded, ready to reopen.

No Textual here. Chunks arrive as the pty gave them (partial lines, carriage-return progress bars, colour
codes); :class:`StepOutput` turns them into plain text for the ``Log`` widget and remembers only the last
``max_lines`` lines, so a step that prints a million lines costs as much memory as one that prints 2000.
"""

from __future__ import annotations

from collections import deque

from wizard.transcript import strip_ansi

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


def size_text(count: int) -> str:
    """A byte count as a person reads it: 812 bytes, 64 KB, 12.3 MB."""
    if count < 1000:
        return f"{count} bytes"
    if count < 1000 ** 2:
        return f"{count / 1000:.0f} KB"
    return f"{count / 1000 ** 2:.1f} MB"
