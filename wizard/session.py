"""Putting the pieces together for one run; shared by the headless CLI and the TUI.

Both front ends go through here, so the order (validate, probe, plan, lock, run, record) is decided once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import answers as answers_mod
from .answers import Answers
from .engine import Engine
from .events import Listener
from .facts import Facts, probe
from .lock import RunLock
from .plan import Plan, build_plan
from .runner import Runner
from .services import Services
from .state import State, StateError, state_dir

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

    def engine(self, runner: Runner, emit: Listener) -> Engine:
        return Engine(self.plan, runner, self.state, emit)

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
