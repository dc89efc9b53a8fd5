"""One run's lifecycle: the lock before the plan, a real cancel, the run log and the listeners."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from wizard.commands import Command, Privilege
from wizard.events import CommandStarted, Event, RunFinished, StepFinished, StepStarted
from wizard.lock import LockedError
from wizard.plan import Plan, Step
from wizard.runner import DryRunner, PexpectRunner
from wizard.session import RunSession, Session, run_lock
from wizard.state import State
from wizard.status import StepStatus

import tui_helpers as h

pytestmark = pytest.mark.usefixtures("state_dir")  # conftest: a progress store per test


class Events(list):
    def __call__(self, event: Event) -> None:
        self.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self if isinstance(e, kind)]


def sleepy_steps(tmp: Path) -> list[Step]:
    """A step whose first command takes long, with a second command and a next step that must not run."""
    return [Step("slow", "Take a long time", is_done=h.never_done,
                 commands=[Command.of("sh", "-c", "echo started; sleep 60"),
                           Command.of("touch", str(tmp / "second-command"))]),
            Step("next", "Never reached", is_done=h.never_done, commands=[Command.of("touch", str(tmp / "next"))])]


def make_run(tmp: Path, steps=sleepy_steps, prepared: list | None = None) -> RunSession:
    def prepare(answers, facts):
        session = Session(answers, facts, State.load(), Plan(answers, facts, steps(tmp)))
        if prepared is not None:
            prepared.append(session)
        return session

    def runner(emit, log):
        return PexpectRunner(emit, privilege=Privilege(is_root=True), log=log)

    return RunSession(h.sample_answers(), runner, facts=h.fixed_facts(), prepare=prepare,
                      log_path=tmp / "logs" / "run.log")


def test_the_lock_is_taken_before_the_state_is_read_and_the_plan_built(tmp_path, state_dir):
    seen = []

    def prepare(answers, facts):
        with pytest.raises(LockedError):  # the session holds the lock while it reads the state
            run_lock().acquire()
        seen.append(State.load())
        return Session(answers, facts, seen[-1], Plan(answers, facts, []))

    # What a headless run wrote after the review: the run that follows must start from it.
    _save_done(state_dir)
    run = RunSession(h.sample_answers(), lambda emit, log: DryRunner(emit), facts=h.fixed_facts(),
                     prepare=prepare, log_path=tmp_path / "run.log")
    with run:
        session = run.open()
        assert session.state is seen[0] and "hello/x" in session.state.steps
    run_lock().acquire()  # released on close


def _save_done(state_dir: Path) -> None:
    state = State(state_dir / "state.json")
    state.record("hello/x", StepStatus.DONE)


def test_a_second_run_is_refused_and_builds_no_plan(tmp_path):
    prepared: list = []
    first = make_run(tmp_path, prepared=prepared)
    first.open()
    try:
        with pytest.raises(LockedError):
            make_run(tmp_path, prepared=prepared).open()
        assert len(prepared) == 1
    finally:
        first.close()


def test_cancel_inside_a_step_ends_the_command_and_nothing_after_it_runs(tmp_path):
    events = Events()
    run = make_run(tmp_path)
    run.listeners.append(events)
    with run:
        run.open()

        def cancel_once_started() -> None:
            while not any(isinstance(e, CommandStarted) for e in list(events)):
                threading.Event().wait(0.05)
            threading.Event().wait(0.3)
            run.cancel()

        helper = threading.Thread(target=cancel_once_started)
        helper.start()
        result = run.run()
        helper.join()
        record = run.session.state.steps["hello/slow"]
    assert result.stopped and not result.ok and result.failed_step == "slow"
    assert not (tmp_path / "second-command").exists() and not (tmp_path / "next").exists()
    finished = events.of(StepFinished)
    assert [(e.step_id, e.status) for e in finished] == [("slow", StepStatus.STOPPED)]
    assert events.of(RunFinished) == [RunFinished(False, "slow", events.of(RunFinished)[0].elapsed, stopped=True)]
    assert record.status == StepStatus.RUNNING  # not a failure: the next run does the step again
    log = (tmp_path / "logs" / "run.log").read_text()
    assert "slow stopped" in log and "slow failed" not in log


def test_cancel_before_the_run_starts_no_step(tmp_path):
    events = Events()
    run = make_run(tmp_path)
    run.listeners.append(events)
    with run:
        run.open()
        run.cancel()
        result = run.run()
    assert result.stopped and result.failed_step == "slow"
    assert events.of(StepStarted) == [] and events.of(CommandStarted) == []


def test_every_listener_gets_every_event_after_the_run_log(tmp_path):
    def quick(tmp: Path) -> list[Step]:
        return [Step("one", "Say one", is_done=h.never_done, commands=[Command.of("echo", "one")])]

    first, second = Events(), Events()
    run = make_run(tmp_path, steps=quick)
    run.listeners += [first, second]
    with run:
        run.open()
        assert run.run().ok
    assert first == second and first.of(RunFinished)[0].ok
    assert "--- one done" in (tmp_path / "logs" / "run.log").read_text()
