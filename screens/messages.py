"""Messages up: what workers tell the screens, one typed message per engine event.

The engine runs in a thread worker and never touches a widget; its listener posts these (``post_message``
is thread-safe) and the screen's handlers update the widgets on the app's thread.
"""

from __future__ import annotations

from textual.message import Message

from wizard import events


class EngineMessage(Message):
    """Wraps one engine event; ``event`` is the immutable record from wizard.events."""

    def __init__(self, event: object) -> None:
        super().__init__()
        self.event = event


class StepStarted(EngineMessage):
    event: events.StepStarted


class CommandStarted(EngineMessage):
    event: events.CommandStarted


class Output(EngineMessage):
    event: events.Output


class PromptNeeded(EngineMessage):
    event: events.PromptNeeded


class StepFinished(EngineMessage):
    event: events.StepFinished


class RunFinished(EngineMessage):
    event: events.RunFinished


class RunCrashed(Message):
    """The worker could not run the engine at all (progress store, log file): said, not a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class AnswersSaved(Message):
    """The run's worker kept a copy of the answers beside the progress store (for Resume)."""

    def __init__(self, path: object) -> None:
        super().__init__()
        self.path = path


class PlanReady(Message):
    """The review's worker has prepared the session: plan, what is done, the diffs."""

    def __init__(self, session: object, statuses: dict[str, str], diffs: list[tuple[str, str]],
                 changes: list[str], findings: list | None = None) -> None:
        super().__init__()
        self.session, self.statuses, self.diffs, self.changes = session, statuses, diffs, changes
        self.findings = findings or []  # preflight.Finding: what the unattended run would refuse or warn


class PlanFailed(Message):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class FactsReady(Message):
    def __init__(self, facts: object) -> None:
        super().__init__()
        self.facts = facts


FOR_EVENT: dict[type, type[EngineMessage]] = {
    events.StepStarted: StepStarted,
    events.CommandStarted: CommandStarted,
    events.Output: Output,
    events.PromptNeeded: PromptNeeded,
    events.StepFinished: StepFinished,
    events.RunFinished: RunFinished,
}


def for_event(event: object) -> EngineMessage:
    return FOR_EVENT[type(event)](event)
