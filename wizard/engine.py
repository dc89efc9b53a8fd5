"""Executing a plan: each step checked, run, validated, recorded; events out to whoever listens.

The engine knows nothing of screens or terminals. It is handed a plan, a runner (real or dry) and a
progress store, and reports through events; the CLI and the TUI are two listeners of the same run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .boundary import Unsafe
from .commands import Command
from .events import CommandStarted, Listener, Output, RunFinished, StepFinished, StepStarted
from .files import FileTransaction, hash_of
from .plan import Plan, Step
from .runner import CommandResult, Runner, reason_in
from .state import State, StateError, StepRecord
from .status import StepStatus
from .wording import describe


class StepFailed(Exception):
    def __init__(self, message: str, tail: str = "") -> None:
        super().__init__(message)
        self.message, self.tail = message, tail


class RunStopped(StepFailed):
    """The front end cancelled the run: raised inside the engine only, never by a listener.

    A subclass of StepFailed so a step stopped half-way puts its files back like a failed one; the run
    itself ends as stopped, and the step's record stays RUNNING, so the next run does it again.
    """

    def __init__(self) -> None:
        super().__init__("stopped before the step finished")


@dataclass
class RunResult:
    ok: bool
    failed_step: str | None = None
    message: str = ""
    tail: str = ""
    stopped: bool = False  # cancelled by the front end; failed_step is the step it interrupted
    ran: list[str] = field(default_factory=list)  # steps that did work
    elapsed: float = 0.0
    command_seconds: float = 0.0  # wall time spent in the commands themselves
    check_seconds: float = 0.0  # wall time spent in probes (waiting for RUNNING, fetching the site)


def record_key(plan: Plan, step: Step) -> str:
    """Records are per app: a Pi may host several sites, each with its own progress."""
    return f"{plan.answers.app.name}/{step.id}"


def follow_ups_pending(step: Step, record: StepRecord | None) -> bool:
    """A step last left unfinished (running, failed) may have written its files without their follow-ups.

    Its RUNNING record is saved before anything is written, so a run killed between a write and the
    commands that write calls for (``supervisorctl reread``/``update``, an nginx reload) leaves exactly this
    mark: the next run finds the files current and must run the follow-ups all the same.
    """
    return bool(step.on_change or step.on_rerun) and record is not None and record.status != StepStatus.DONE


def step_done(step: Step, state: State, key: str) -> bool:
    """Done means the machine shows the work and, where the inputs matter, they are the ones used."""
    if step.always:
        return False
    if follow_ups_pending(step, state.steps.get(key)):
        return False
    if step.remember_inputs:
        record = state.steps.get(key)
        if record is None or record.status != StepStatus.DONE or record.fingerprint != step.fingerprint:
            return False
    if not step.tracks and not step.files_current():
        return False
    return step.is_done() if step.is_done is not None else True


@dataclass
class Engine:
    """Runs a plan's steps in order. ``stop`` is the front end's cancel: checked before every step, every
    command and every probe; the runner's own ``cancel()`` ends the command running at that moment."""

    plan: Plan
    runner: Runner
    state: State
    emit: Listener
    stop: threading.Event = field(default_factory=threading.Event)
    _result: RunResult = field(default_factory=lambda: RunResult(ok=True), init=False, repr=False)

    def statuses(self) -> dict[str, StepStatus]:
        """For the plan view: which steps are already done on this machine (WAITING: to do)."""
        return {s.id: self._status_before_run(s) for s in self.plan.steps}

    def _status_before_run(self, step: Step) -> StepStatus:
        if step.always:
            return StepStatus.ALWAYS
        return StepStatus.ALREADY_DONE if step_done(step, self.state, self._key(step)) else StepStatus.WAITING

    def _key(self, step: Step) -> str:
        return record_key(self.plan, step)

    def cancel(self) -> None:
        """Stop the run: no further step, command or probe starts, and the running command is ended."""
        self.stop.set()
        self.runner.cancel()

    def run(self, start_at: str | None = None) -> RunResult:
        started = time.monotonic()
        result = RunResult(ok=True)
        self._result = result
        ids = [s.id for s in self.plan.steps]
        first = ids.index(start_at) if start_at in ids else 0
        for index, step in enumerate(self.plan.steps[first:], first + 1):
            if self.stop.is_set():
                return self._stopped(result, step, started)
            self.emit(StepStarted(step.id, step.title, index, len(ids)))
            step_started = time.monotonic()
            try:
                self._step(step, result, step_started)
            except RunStopped:
                self.emit(StepFinished(step.id, StepStatus.STOPPED, time.monotonic() - step_started))
                return self._stopped(result, step, started)
            except StateError as error:
                return self._fail(result, step, str(error), "", step_started, started)
            except Exception as error:  # a bug or an OS error must still end as a failed step, not a trace
                if isinstance(error, StepFailed):
                    failure = error
                else:  # a refusal at the privilege boundary names the path; anything else said plainly
                    failure = StepFailed(str(error) if isinstance(error, Unsafe) else describe(error))
                try:
                    self._record(step, StepStatus.FAILED, time.monotonic() - step_started, failure.message)
                except StateError:
                    pass
                return self._fail(result, step, failure.message, failure.tail, step_started, started)
        result.elapsed = time.monotonic() - started
        self.emit(RunFinished(True, None, result.elapsed))
        return result

    def _step(self, step: Step, result: RunResult, step_started: float) -> None:
        """One step: passed over when the machine shows it done, else run and recorded."""
        if step_done(step, self.state, self._key(step)):
            for planned in step.files:  # the owner's file kept says so on every run, not on the first only
                if planned.owner_edited():
                    self.emit(Output(step.id, planned.kept_note() + "\n", note=True))
            self.emit(StepFinished(step.id, StepStatus.ALREADY_DONE, time.monotonic() - step_started,
                                   "already done"))
            return
        previous = self.state.steps.get(self._key(step))
        self._record(step, StepStatus.RUNNING)
        did_work = self._execute(step, previous)
        self._record(step, StepStatus.DONE, time.monotonic() - step_started)
        if did_work:
            result.ran.append(step.id)
        self.emit(StepFinished(step.id, StepStatus.DONE, time.monotonic() - step_started))

    def _stopped(self, result: RunResult, step: Step, started: float) -> RunResult:
        result.ok, result.stopped, result.failed_step = False, True, step.id
        result.message = "stopped by the user"
        result.elapsed = time.monotonic() - started
        self.emit(RunFinished(False, step.id, result.elapsed, stopped=True))
        return result

    def _fail(self, result: RunResult, step: Step, message: str, tail: str, step_started: float,
              started: float) -> RunResult:
        result.ok, result.failed_step, result.message, result.tail = False, step.id, message, tail
        result.elapsed = time.monotonic() - started
        self.emit(StepFinished(step.id, StepStatus.FAILED, time.monotonic() - step_started, message, tail))
        self.emit(RunFinished(False, step.id, result.elapsed))
        return result

    def _record(self, step: Step, status: StepStatus, elapsed: float = 0.0, message: str = "") -> None:
        """Only DONE takes the new fingerprint: an unfinished step keeps that of the work last finished,
        so the run after a kill still sees that the inputs changed (and restarts what they call for)."""
        if self.runner.dry:
            return
        last = self.state.steps.get(self._key(step))
        fingerprint = step.fingerprint if status == StepStatus.DONE else (last.fingerprint if last else "")
        if status == StepStatus.DONE:
            digests = {f.path: f.recorded_hash() for f in step.files} | {p: hash_of(p) for p in step.tracks}
            for path, digest in digests.items():
                if digest is None:
                    self.state.files.pop(path, None)
                else:
                    self.state.files[path] = digest
        self.state.record(self._key(step), status, fingerprint, elapsed, message, step.title)

    def _command(self, step: Step, command: Command, *, cleaning_up: bool = False) -> CommandResult:
        """Run one command; ``cleaning_up``: putting things back after a failure, which a stop must not skip."""
        if self.stop.is_set() and not cleaning_up:
            raise RunStopped()
        self.emit(CommandStarted(step.id, command.display()))
        outcome = self.runner.run(step.id, command)
        self._result.command_seconds += outcome.elapsed
        if self.stop.is_set() and not cleaning_up:
            raise RunStopped()
        if not outcome.ok or outcome.exit_code not in command.ok_codes:
            if outcome.timed_out:
                why = f"timed out after {command.timeout:.0f} s"
            elif outcome.gave_up:
                why = outcome.gave_up
            else:
                why = f"exited with status {outcome.exit_code}"
            said = reason_in(outcome.tail)
            raise StepFailed(f"{command.display()} {why}" + (f": {said}" if said else ""), outcome.tail)
        return outcome

    def _execute(self, step: Step, previous: StepRecord | None = None) -> bool:
        """``previous``: the step's record before this run marked it RUNNING."""
        inputs_changed = bool(previous and previous.fingerprint and previous.fingerprint != step.fingerprint)
        pending = follow_ups_pending(step, previous)
        folders_changed = any([self.runner.folder(step.id, folder) for folder in step.folders])
        for command in step.commands:
            self._command(step, command)
        if self.stop.is_set():
            raise RunStopped()
        tx = FileTransaction(step.id)
        changed = [self.runner.write(tx, f) for f in step.files] + [self.runner.link(tx, lk) for lk in step.links]
        for note in tx.notes:
            self.emit(Output(step.id, note + "\n", note=True))
        files_changed = any(changed)
        if files_changed or (pending and step.on_change):
            try:
                for command in step.validate + step.on_change:
                    self._command(step, command)
            except StepFailed as failure:
                self._roll_back(step, tx)
                if isinstance(failure, RunStopped):
                    raise
                raise StepFailed(f"{failure.message}; the previous files were put back", failure.tail) from None
        if inputs_changed and (pending or not files_changed):
            for command in step.on_rerun:
                self._command(step, command)
        ensured = self._ensure(step)
        for probe in step.probes:
            if self.stop.is_set():
                raise RunStopped()
            probe_started = time.monotonic()
            ok, message = self.runner.probe(step.id, probe.description, probe.check)
            self._result.check_seconds += time.monotonic() - probe_started
            self.emit(Output(step.id, f"{'' if self.runner.dry else 'ok: ' if ok else 'FAILED: '}{message}\n"))
            if not ok:
                raise StepFailed(message.split("\n", 1)[0], message)
        return bool(step.commands) or folders_changed or files_changed or inputs_changed or pending or ensured

    def _ensure(self, step: Step) -> bool:
        """The effects a file cannot show, checked on the machine itself; True when something was put right."""
        acted = False
        for ensure in step.ensure:
            if self.runner.dry or not ensure.needed():
                continue
            self.emit(Output(step.id, f"{ensure.description}\n"))
            for command in ensure.commands:
                self._command(step, command)
            acted = True
        return acted

    def _roll_back(self, step: Step, tx: FileTransaction) -> None:
        """Restore the files, then run the change commands again so services use the restored config."""
        restored = list(tx.changed)
        tx.rollback()
        self.emit(Output(step.id, f"rolled back: {', '.join(restored)}\n"))
        for command in step.on_change:
            try:
                self._command(step, command, cleaning_up=True)
            except StepFailed:
                pass
