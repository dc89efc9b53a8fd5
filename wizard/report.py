"""The machine-readable result of an unattended run (``--json``): what a fleet tool reports from.

Ansible (or any other fleet tool) must say "changed" only when the machine changed, and name the step
that failed with its output. The engine already knows all of it; this module only listens. ``Report`` is
a listener of the run's events, and ``RecordingRunner`` wraps the runner to learn which files each step
changed (and, in a dry run, their diffs), so neither the engine nor the runners know about JSON.

The key names are a contract (README, "Many Pis"): add keys, never rename or drop one.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Callable

from .commands import Command
from .events import Event, RunFinished, StepFinished, StepStarted
from .files import AppFolder, FileTransaction, Link, PlannedFile
from .runner import CommandResult, Runner
from .status import StepStatus

FORMAT = 1  # the document's version: raised only if a key ever had to change its meaning
TAIL_LINES = 40

# The contract's four words; a step stopped half-way counts as failed, one never reached as skipped.
STATUS_WORDS = {StepStatus.DONE: "done", StepStatus.ALREADY_DONE: "already done", StepStatus.FAILED: "failed",
                StepStatus.STOPPED: "failed", StepStatus.SKIPPED: "skipped"}


@dataclass
class StepReport:
    id: str
    title: str
    status: str = "skipped"
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "status": self.status, "seconds": round(self.seconds, 3),
                "files": list(self.files)}


def tail_of(text: str, lines: int = TAIL_LINES) -> str:
    """The end of a step's output: enough for a person to see why, short enough for a play's recap."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


@dataclass
class Report:
    """Collects one run's events; ``document()`` is the JSON the front end prints at the end."""

    dry_run: bool = False
    steps: dict[str, StepReport] = field(default_factory=dict)
    diffs: dict[str, str] = field(default_factory=dict)
    worked: list[str] = field(default_factory=list)  # the steps that did work (the engine's ``ran``)
    urls: list[str] = field(default_factory=list)
    failed: dict[str, str] | None = None
    finished: bool = False

    def plan(self, steps: list[tuple[str, str]]) -> None:
        """Every step of the plan, so one never reached (after a failure) is listed as skipped."""
        for step_id, title in steps:
            self.steps.setdefault(step_id, StepReport(step_id, title))

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.steps.setdefault(event.step_id, StepReport(event.step_id, event.title)).title = event.title
        elif isinstance(event, StepFinished):
            step = self.steps.setdefault(event.step_id, StepReport(event.step_id, event.step_id))
            step.status, step.seconds = STATUS_WORDS.get(event.status, "failed"), event.elapsed
            if event.status in (StepStatus.FAILED, StepStatus.STOPPED):
                self.fail(event.message or "stopped", event.tail, step)
        elif isinstance(event, RunFinished):
            self.finished = True
            if not event.ok and self.failed is None:
                step = self.steps.get(event.failed_step or "")
                self.fail("stopped" if event.stopped else "failed", "", step)

    def fail(self, message: str, tail: str = "", step: StepReport | None = None) -> None:
        """A failed step, or (``step`` None) a refusal before any step ran: bad answers, a held lock."""
        self.failed = {"step": step.id if step else None, "title": step.title if step else None,
                       "message": message, "tail": tail_of(tail)}

    def ended(self, ran: list[str], summary: list[tuple[str, str]]) -> None:
        """The engine's result (the steps that did work) and the summary the person would read."""
        self.worked = list(ran)
        self.urls = dict(summary).get("Site", "").split()

    def file_changed(self, step_id: str, path: str, diff: str | None = None) -> None:
        step = self.steps.setdefault(step_id, StepReport(step_id, step_id))
        if path not in step.files:
            step.files.append(path)
        if diff is not None and self.dry_run:
            self.diffs[path] = diff

    @property
    def changed(self) -> bool:
        """True only when this machine changed: never in a dry run, never on a re-run with nothing to do."""
        if self.dry_run:
            return False
        return bool(self.worked) or any(s.files for s in self.steps.values())

    @property
    def would_change(self) -> bool:
        """A dry run's answer to "would a real run change something?" (Ansible's check mode reports it)."""
        return self.changed or (self.dry_run and (bool(self.worked) or bool(self.diffs)))

    def document(self) -> dict[str, object]:
        return {"format": FORMAT, "dry_run": self.dry_run, "ok": self.failed is None and self.finished,
                "changed": self.changed, "would_change": self.would_change, "failed": self.failed,
                "steps": [s.as_dict() for s in self.steps.values()], "urls": list(self.urls),
                "diffs": dict(self.diffs) if self.dry_run else {}}

    def dumps(self) -> str:
        return json.dumps(self.document(), indent=2, sort_keys=False) + "\n"


@dataclass
class RecordingRunner:
    """The run's own runner, unchanged, telling ``report`` each file, link and folder a step changed."""

    inner: Runner
    report: Report

    @property
    def dry(self) -> bool:
        return self.inner.dry

    def run(self, step_id: str, command: Command) -> CommandResult:
        return self.inner.run(step_id, command)

    def write(self, tx: FileTransaction, planned: PlannedFile) -> bool:
        diff = planned.diff() if self.inner.dry else None  # before the write: after it there is none
        changed = self.inner.write(tx, planned)
        if changed:
            self.report.file_changed(tx.step_id, planned.path, diff)
        return changed

    def link(self, tx: FileTransaction, link: Link) -> bool:
        changed = self.inner.link(tx, link)
        if changed:
            self.report.file_changed(tx.step_id, link.path)  # a link or a folder has no diff: listed only
        return changed

    def folder(self, step_id: str, folder: AppFolder) -> bool:
        changed = self.inner.folder(step_id, folder)
        if changed:
            self.report.file_changed(step_id, folder.path)
        return changed

    def probe(self, step_id: str, description: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        return self.inner.probe(step_id, description, check)

    def send_input(self, text: str) -> None:
        self.inner.send_input(text)

    def cancel(self) -> None:
        self.inner.cancel()


def json_run(report: Report, run: Callable[[], int]) -> int:
    """Run with everything that would reach stdout sent to stderr, then print the one document on stdout.

    File descriptor 1 itself is pointed at stderr for the run, so not even a child process can put a stray
    line before the JSON a fleet tool parses.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        code = run()
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume where it stopped", file=sys.stderr)
        report.fail("interrupted")
        code = 130
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    if not report.finished and report.failed is None:
        report.fail("the run ended before it finished (interrupted?)")
    sys.stdout.write(report.dumps())
    sys.stdout.flush()
    return code
