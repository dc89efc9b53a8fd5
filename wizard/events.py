"""What the engine tells a front end while it works.

The engine never prints and never imports a UI: it hands these small, immutable records to whoever
listens (the headless CLI, the transcript log, the Textual app), which keeps every front end a client of
one engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from .status import StepStatus


@dataclass(frozen=True)
class StepStarted:
    step_id: str
    title: str
    index: int
    total: int


@dataclass(frozen=True)
class CommandStarted:
    step_id: str
    display: str


@dataclass(frozen=True)
class Output:
    """A chunk of output (may hold ANSI codes and partial lines).

    A command writes its output straight into the run's log file and the runner reads it back for the
    front ends: ``logged`` says this text is in that file already (the transcript must not add it again),
    and ``skipped`` counts the bytes before it that were not read back because the command wrote faster
    than anyone can read (a pane shows the newest lines; the log file has them all). ``note``: the
    wizard's own word to the person (a file of theirs kept, a key replaced), shown even without --verbose.
    """

    step_id: str
    text: str
    skipped: int = 0
    logged: bool = False
    note: bool = False


@dataclass(frozen=True)
class PromptNeeded:
    """A command went quiet on what looks like a question nobody foresaw; a front end may send a reply."""

    step_id: str
    text: str


@dataclass(frozen=True)
class StepFinished:
    step_id: str
    status: StepStatus  # DONE, ALREADY_DONE, FAILED or STOPPED
    elapsed: float
    message: str = ""
    tail: str = ""


@dataclass(frozen=True)
class RunFinished:
    ok: bool
    failed_step: str | None  # the step that failed or was running when the run was stopped
    elapsed: float
    stopped: bool = False  # cancelled by the front end (the user quit), not failed


Event = StepStarted | CommandStarted | Output | PromptNeeded | StepFinished | RunFinished
Listener = Callable[[Event], None]


@dataclass(frozen=True)
class Prompt:
    """A command is waiting for input. ``secret`` prompts (sudo) must be answered without echo or log."""

    step_id: str
    text: str
    secret: bool


class Prompter(Protocol):
    def __call__(self, prompt: Prompt) -> str | None:
        """Return what to send (without newline), or None to give up on the command."""
