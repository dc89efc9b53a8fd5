"""Putting the pieces together for one run; shared by the headless CLI and the TUI.

``Session`` is a prepared plan: the answers, the machine's facts, the progress store and the plan built
from them (the review screen shows one before anything runs). ``RunSession`` owns one run of it on this
machine, from the lock to the summary, so the order (lock, state, plan, log, runner, answers, run, release)
is decided here once and both front ends only listen and ask.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import answers as answers_mod
from .answers import Answers
from .engine import Engine, RunResult
from .events import Event, Listener
from .facts import Facts, probe
from .lock import RunLock
from .plan import Plan, build_plan
from .runner import CommandLog, Runner
from .services import Services
from .state import State, StateError, state_dir
from .transcript import Transcript, new_log_path

SAVED_ANSWERS = "answers.toml"


@dataclass
class Session:
    answers: Answers
    facts: Facts
    state: State
    plan: Plan

    @classmethod
    def prepare(cls, answers: Answers, facts: Facts | None = None) -> "Session":
        facts = facts or probe()
        state = State.load()
        plan = build_plan(answers, facts, Services(facts.systemd), state.files)
        return cls(answers, facts, state, plan)

    def engine(self, runner: Runner, emit: Listener, stop: threading.Event | None = None) -> Engine:
        return Engine(self.plan, runner, self.state, emit, stop or threading.Event())

    def previous_answers(self) -> Answers | None:
        """The answers of this app's last run on this machine, if they can still be read."""
        try:
            return answers_mod.load(self._app_answers())
        except answers_mod.AnswersError:
            return None

    def _app_answers(self) -> Path:
        return state_dir() / "apps" / f"{self.answers.app.name}.toml"

    def remember_answers(self, source: Path | None) -> Path:
        """Keep a copy beside the state: the TUI's Resume and a later unattended run start from it."""
        saved = state_dir() / SAVED_ANSWERS
        try:
            answers_mod.save(self.answers, saved)
            answers_mod.save(self.answers, self._app_answers())
        except OSError as error:
            raise StateError(f"cannot save the answers to {saved}: {error.strerror or error}") from error
        self.state.answers_path = str(source.resolve()) if source else str(saved)
        self.state.save()
        return saved


def run_lock() -> RunLock:
    return RunLock(state_dir() / "lock")


RunnerFactory = Callable[[Listener, CommandLog], Runner]
Prepare = Callable[[Answers, Facts | None], Session]


class RunSession:
    """One run on this machine, from the lock to the summary.

    ``open()`` takes the run lock and only then loads the progress store and builds the plan, so what runs
    is what the machine holds at that moment (a headless run between the TUI's review and its Install is
    not overwritten). ``start_log()`` opens the run log and makes the runner; ``run()`` may be called again
    (a retry resumes at a step); ``cancel()`` stops it from any thread; ``close()`` releases it all. Every
    event goes to the run log first, then to each listener: a front end never writes the log itself.
    """

    def __init__(self, answers: Answers, make_runner: RunnerFactory, *, facts: Facts | None = None,
                 prepare: Prepare = Session.prepare, log_path: Path | None = None,
                 lock: RunLock | None = None) -> None:
        self.answers, self.facts = answers, facts
        self._make_runner, self._prepare = make_runner, prepare
        self.log_path = log_path or new_log_path()
        self._lock = lock or run_lock()
        self.listeners: list[Listener] = []
        self.session: Session | None = None
        self.transcript: Transcript | None = None
        self.runner: Runner | None = None
        self.answers_path: Path | None = None
        self.stop = threading.Event()

    def open(self) -> Session:
        """The lock, then the plan from the machine as it is now. LockedError when another run holds it."""
        self._lock.acquire()
        try:
            self.session = self._prepare(self.answers, self.facts)
        except BaseException:
            self._lock.release()
            raise
        self.facts = self.session.facts
        return self.session

    def start_log(self) -> None:
        """The run log the commands write into, and the runner that hands it to them (OSError if not)."""
        if self.transcript is None:
            self.transcript = Transcript(self.log_path)
            self.runner = None  # a runner hands its commands the log it was made with
        if self.runner is None:
            self.runner = self._make_runner(self.emit, self.transcript)

    def emit(self, event: Event) -> None:
        if self.transcript is not None:
            self.transcript(event)
        for listener in list(self.listeners):
            listener(event)

    def remember_answers(self, source: Path | None) -> Path:
        self.answers_path = self._prepared.remember_answers(source)
        return self.answers_path

    def previous_answers(self) -> Answers | None:
        return self._prepared.previous_answers()

    def run(self, start_at: str | None = None) -> RunResult:
        """Run the plan (from ``start_at``); stopped at once when ``cancel()`` came first."""
        self.start_log()
        assert self.runner is not None
        return self._prepared.engine(self.runner, self.emit, self.stop).run(start_at)

    def send_input(self, text: str) -> None:
        """A person's answer to the running command's question."""
        if self.runner is not None:
            self.runner.send_input(text)

    def cancel(self) -> None:
        """Stop the run from any thread: no new step or command starts, the running command is ended."""
        self.stop.set()
        if self.runner is not None:
            self.runner.cancel()

    def close(self) -> None:
        if self.transcript is not None:
            self.transcript.close()
            self.transcript = None
        self._lock.release()

    @property
    def _prepared(self) -> Session:
        if self.session is None:
            raise RuntimeError("RunSession.open() first")
        return self.session

    def __enter__(self) -> "RunSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
