"""The words for where a step stands: one vocabulary for the engine, the progress store and every screen.

Before this there were three sets of loose strings, and the same word meant two things ("skipped" was a
step found already in place, "passed" one the user chose to go on without). Each state now has one name,
and each front end maps these members to its own labels.
"""

from __future__ import annotations

from enum import StrEnum


class StepStatus(StrEnum):
    """A step's state; the value is what the progress store and the run log hold."""

    WAITING = "waiting"  # not reached yet in this run (a plan view says "to do")
    ALWAYS = "always"  # runs on every run whatever the machine shows (the checks at the end)
    RUNNING = "running"  # started and not finished; left in the store when a run dies mid-step
    DONE = "done"  # its work was done (in this run, or in the store: in the run that recorded it)
    ALREADY_DONE = "already-done"  # found in place with the same inputs: nothing was run
    SKIPPED = "skipped"  # it failed and the user chose to go on without it
    FAILED = "failed"
    STOPPED = "stopped"  # the run was stopped while it ran; the store keeps RUNNING, so it is done again


# The states in which a run may go past a step.
SETTLED = frozenset({StepStatus.DONE, StepStatus.ALREADY_DONE, StepStatus.SKIPPED})
