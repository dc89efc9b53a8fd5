"""The Textual front end: the app, its factory for tests, and ``run_tui()`` for the command line.

The app owns what the screens share (the machine's facts, the answers being typed, how a session and a
runner are made) and the order of the screens. Everything that acts on the machine is the engine's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from textual.app import App
from textual.binding import Binding

from wizard import EXIT_OK
from wizard.answers import SECTIONS, Answers
from wizard.events import Listener
from wizard.facts import Facts, probe
from wizard.runner import CommandLog, PexpectRunner, Runner
from wizard.session import SAVED_ANSWERS, Session
from wizard.state import State, state_dir
from wizard.transcript import new_log_path

from .draft import Draft

SessionFactory = Callable[[Answers, Facts], Session]
RunnerFactory = Callable[[Listener, CommandLog], Runner]


def default_runner(emit: Listener, log: CommandLog) -> Runner:
    """The TUI's runner. interactive: a person is there to answer a question nobody foresaw, so it never
    gives up on one. No prompter: the TUI runs as root (a login user's start goes through sudo before
    Textual loads), so no command asks for a password, and text that looks like sudo's prompt is some
    command's own output, never answered (issue 12)."""
    return PexpectRunner(emit, interactive=True, log=log)


class WizardApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "piserver-wizard"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, *, facts: Facts | None = None, state: State | None = None,
                 session_factory: SessionFactory | None = None, runner_factory: RunnerFactory | None = None,
                 log_path: Callable[[], Path] | None = None, clock: Callable[[], float] | None = None,
                 saved_answers: Path | None = None, prober: Callable[[], Facts] = probe,
                 manager: object | None = None) -> None:
        super().__init__()
        from .manage import Manager

        self.manager = manager or Manager()  # the installed apps (welcome list, app screens)
        self.facts = facts
        self.prober = prober
        self._state = state
        self.session_factory: SessionFactory = session_factory or (lambda a, f: Session.prepare(a, f))
        self.runner_factory: RunnerFactory = runner_factory or default_runner
        self.log_path = log_path or new_log_path
        self.clock = clock or time.monotonic
        self.saved_answers = saved_answers or state_dir() / SAVED_ANSWERS
        self.draft: Draft | None = None
        self.exit_code = EXIT_OK

    @property
    def state(self) -> State:
        """The progress store of earlier runs (read lazily: the welcome screen's worker loads it)."""
        if self._state is None:
            self._state = State.load()
        return self._state

    def on_mount(self) -> None:
        from .welcome import WelcomeScreen

        self.push_screen(WelcomeScreen())

    # Navigation: the screens ask, the app decides what comes next.

    def start_questions(self, answers: Answers | None = None) -> None:
        from .questions import QuestionsScreen

        assert self.facts is not None
        self.draft = Draft(self.facts, answers)
        self.push_screen(QuestionsScreen(SECTIONS[0]))

    def revisit(self, answers: Answers, section: str) -> None:
        """One section's questions again, with these answers (a failed run's way out: another HTTPS choice)."""
        from .questions import QuestionsScreen

        assert self.facts is not None
        self.draft = Draft(self.facts, answers)
        self.push_screen(QuestionsScreen(section))

    def review(self, answers: Answers | None = None) -> None:
        from .review import ReviewScreen

        if answers is not None:
            assert self.facts is not None
            self.draft = Draft(self.facts, answers)
        self.push_screen(ReviewScreen())

    def after_section(self, section: str) -> None:
        from .questions import QuestionsScreen

        index = SECTIONS.index(section)
        if index + 1 < len(SECTIONS):
            self.push_screen(QuestionsScreen(SECTIONS[index + 1]))
        else:
            self.review()

    def install(self, session: Session) -> None:
        from .run import RunScreen

        self.push_screen(RunScreen(session))

    async def action_quit(self) -> None:
        """Ctrl+Q: leave at once, unless a step is running; then ask, and say that a re-run resumes."""
        from .confirm import ConfirmScreen
        from .run import RunScreen

        run = next((s for s in self.screen_stack if isinstance(s, RunScreen)), None)
        if any(isinstance(s, ConfirmScreen) for s in self.screen_stack):
            return
        if run is None and self.draft is not None and self.draft.touched:
            def leave(sure: bool | None) -> None:
                if sure:
                    self.exit(self.exit_code, return_code=self.exit_code)

            self.push_screen(ConfirmScreen(
                "Quit the wizard?", "Nothing has been installed yet, and the answers typed so far are not "
                "saved (the review screen's Save answers keeps them).", yes="Quit", no="Stay"), leave)
            return
        if run is None or not run.running:
            self.exit(self.exit_code, return_code=self.exit_code)
            return

        def answered(stop: bool | None) -> None:
            if stop:
                run.stop_and_quit()

        self.push_screen(ConfirmScreen(
            "A step is running. Quit now?",
            "The running command is stopped. Run piserver-wizard again later: it resumes at this step.",
            yes="Stop and quit", no="Keep running"), answered)


def make_app(**kwargs) -> WizardApp:
    """The app with its collaborators injectable: facts, state, session and runner factories, log path, clock."""
    return WizardApp(**kwargs)


def run_tui() -> int:
    app = make_app()
    app.run()
    code = app.return_code
    return code if code is not None else EXIT_OK
