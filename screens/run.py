"""Run: the steps with their state and time, overall progress, the live output pane, prompts, failures.

The screen drives a :class:`wizard.session.RunSession` (the lock, the plan as the machine holds it at
Install, the run log, the runner, cancellation); its engine runs in a thread worker. The commands write
their output into the run log themselves and the runner reads it back; the session writes the wizard's own
lines, and this screen's listener posts one typed message per event; nothing in the worker touches a
widget. Output messages only fill an :class:`~screens.output.OutputBuffer`: a timer flushes it to the pane
every 0.1 s, so a flood from apt costs one widget update per tick, never one per line, and never slows apt.

The parts (step list, output pane, prompt row, failure panel) are widgets of their own in ``run_widgets``;
where the run stands is one :class:`Phase`, and the bindings follow from it.
"""

from __future__ import annotations

import os
import time
from enum import StrEnum
from pathlib import Path

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from wizard.diagnose import SWITCH_MARK
from wizard.events import Event
from wizard.lock import LockedError
from wizard.session import RunSession, Session
from wizard.state import StateError
from wizard.status import SETTLED, StepStatus
from wizard.wording import describe

from . import messages as m
from .output import OutputBuffer, StepOutput, for_pane
from .run_widgets import FailurePanel, OutputPane, PromptRow, StepItem, StepList, StepView, fmt_seconds
from .widgets import TitleBar

__all__ = ["FLUSH_SECONDS", "Phase", "RunScreen", "StepItem", "StepView", "fmt_seconds"]

FLUSH_SECONDS = float(os.environ.get("PISERVER_WIZARD_FLUSH_SECONDS", "0.1"))
FLOOD_FLUSH_SECONDS = 0.5  # while a flood lasts, the pane repaints at most this often (CPU, terminal bytes)


class Phase(StrEnum):
    """Where the run stands; what the user may do follows from it (``RunScreen.check_action``)."""

    STARTING = "starting"  # the lock, the plan and the log are being set up
    RUNNING = "running"  # the engine's worker runs
    FAILED = "failed"  # a step failed: retry, skip it when safe, show the log, quit
    CRASHED = "crashed"  # the run could not go on (lock, log, progress store): retry while we hold the lock
    FINISHED = "finished"  # every step passed; the summary was shown
    QUITTING = "quitting"  # the user stopped it: the engine is winding down, then the app leaves


class RunScreen(Screen):
    CSS_PATH = "run.tcss"
    SUB_TITLE = "Installing"
    BINDINGS = [
        Binding("r", "retry", "Retry"),
        Binding("s", "skip", "Skip"),
        Binding("l", "show_log", "Show log"),
        Binding("q", "quit_run", "Quit, resume later"),
        Binding("f", "follow", "Follow"),
        Binding("escape", "summary", "Summary"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.views = {s.id: StepView(s.id, s.title, s.safe_to_skip) for s in session.plan.steps}
        self.order = [s.id for s in session.plan.steps]
        self.phase = Phase.STARTING
        self.failed_step: str | None = None
        self.problem = ""  # why the run crashed
        self.shown: str | None = None
        self.following = True
        self.answers_path: Path | None = None
        self.log_path: Path | None = None
        self.run: RunSession | None = None  # made on mount: the lock, then the plan that runs
        self.buffer = OutputBuffer()
        self._flooding = False
        self._flushed_at = 0.0

    # Where the run stands, as the app and the tests ask it

    @property
    def running(self) -> bool:
        return self.phase in (Phase.RUNNING, Phase.QUITTING)

    @property
    def failed(self) -> str | None:
        return self.failed_step if self.phase is Phase.FAILED else None

    @property
    def crashed(self) -> str:
        return self.problem if self.phase is Phase.CRASHED else ""

    @property
    def finished(self) -> bool:
        return self.phase is Phase.FINISHED

    # Layout and lifecycle

    def compose(self) -> ComposeResult:
        yield TitleBar(self.sub_title)
        with Horizontal(id="progress-line"):
            yield Static("Starting", id="progress-label")
            yield ProgressBar(total=len(self.order), show_eta=False, id="progress")
        yield StepList([self.views[sid] for sid in self.order])
        yield OutputPane()
        yield PromptRow()
        yield FailurePanel()
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self._paced_flush, name="flush-output")
        self.set_interval(1.0, self._tick, name="elapsed")
        self.query_one(StepList).focus()
        self._show_step(self.order[0] if self.order else None)
        if self._open_run():
            self._start(None, remember=True)

    def on_unmount(self) -> None:
        self._release()

    def _release(self) -> None:
        if self.run is not None:
            self.run.close()
            self.run = None

    def _open_run(self) -> bool:
        """The run lock first, then the state and the plan as the machine holds them now (not the review's)."""
        app = self.app
        run = RunSession(self.session.answers, app.runner_factory,
                         facts=self.session.facts, prepare=app.session_factory, log_path=app.log_path())
        try:
            session = run.open()
        except (LockedError, OSError, StateError) as error:
            self._crash(str(error))
            return False
        if [s.id for s in session.plan.steps] != self.order:
            run.close()
            self._crash("the plan changed since the review (another run?): go back and review it again")
            return False
        self.run, self.session = run, session
        run.listeners.append(self._emit)
        return True

    def _start(self, start_at: str | None, remember: bool = False) -> None:
        """Open the run log (once) and start the engine's worker, from ``start_at`` or the beginning."""
        if self.run is None:
            return
        self.log_path = self.run.log_path
        try:
            self.run.start_log()
        except OSError as error:
            self._crash(f"cannot open the run log {self.log_path}: {error.strerror or error}")
            return
        self.phase, self.failed_step, self.problem = Phase.RUNNING, None, ""
        self.query_one(FailurePanel).display = False
        self.refresh_bindings()
        self._run_engine(start_at, remember)

    # The worker and its listener (both run in the worker's thread)

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def _run_engine(self, start_at: str | None, remember: bool) -> None:
        run = self.run
        assert run is not None
        try:
            if remember:
                self.post_message(m.AnswersSaved(run.remember_answers(None)))
            run.run(start_at)
        except StateError as error:
            self.post_message(m.RunCrashed(str(error)))
        except OSError as error:
            self.post_message(m.RunCrashed(describe(error)))
        except Exception as error:  # a bug must end as a message on screen, not a silent dead worker
            self.post_message(m.RunCrashed(describe(error)))

    def _emit(self, event: Event) -> None:
        """The run session's listener (the run log has the event already): one message to the app's thread."""
        self.post_message(m.for_event(event))

    # Messages from the worker (on the app's thread)

    def on_answers_saved(self, message: m.AnswersSaved) -> None:
        self.answers_path = message.path  # type: ignore[assignment]

    def on_step_started(self, message: m.StepStarted) -> None:
        event = message.event
        self._flush()
        view = self.views[event.step_id]
        view.status, view.started, view.elapsed = StepStatus.RUNNING, self.app.clock(), None
        view.message = view.tail = ""
        view.output = StepOutput()
        # Fixed-size labels: update(layout=False), or every step would lay out the whole screen again.
        self.query_one("#progress-label", Static).update(f"Step {event.index}/{event.total}", layout=False)
        steps = self.query_one(StepList)
        steps.item(event.step_id).show(self.app.clock())
        if self.following:
            self._show_step(event.step_id)
            steps.point_at(event.step_id)

    def on_command_started(self, message: m.CommandStarted) -> None:
        self.buffer.command(message.event.step_id, message.event.display)

    def on_output(self, message: m.Output) -> None:
        self.buffer.output(message.event.step_id, message.event.text, message.event.skipped)

    def on_prompt_needed(self, message: m.PromptNeeded) -> None:
        self._flush()
        self.query_one(PromptRow).ask(message.event.text)

    def on_step_finished(self, message: m.StepFinished) -> None:
        event = message.event
        self._flush()
        view = self.views[event.step_id]
        view.status = StepStatus(event.status)
        view.elapsed = self.app.clock() - view.started if view.started is not None else event.elapsed
        view.message, view.tail = event.message, event.tail
        if event.status == StepStatus.ALREADY_DONE and not view.output.text():
            view.output.feed("already done: skipped\n")
            if self.shown == event.step_id:
                self._show_step(event.step_id)
        self.query_one(StepList).item(event.step_id).show(self.app.clock())
        self._close_prompt()
        self._update_progress()

    def on_run_finished(self, message: m.RunFinished) -> None:
        event = message.event
        self._flush()
        if self.phase is Phase.QUITTING:
            self._leave()
        elif event.ok:
            self.query_one("#progress-label", Static).update("Finished", layout=False)
            self._finish()
        else:
            self.phase, self.failed_step = Phase.FAILED, event.failed_step
            self._show_failure()

    def on_run_crashed(self, message: m.RunCrashed) -> None:
        self._flush()
        if self.phase is Phase.QUITTING:
            self._leave()
        else:
            self._crash(message.message)

    # Messages from the parts (the user)

    def on_step_list_chosen(self, message: StepList.Chosen) -> None:
        self.following = message.view.status is StepStatus.RUNNING
        self._show_step(message.view.step_id)
        self.refresh_bindings()

    def on_prompt_row_answered(self, message: PromptRow.Answered) -> None:
        if self.run is not None:
            self.run.send_input(message.text)
        self._close_prompt()

    async def on_failure_panel_chosen(self, message: FailurePanel.Chosen) -> None:
        await self.run_action(message.action)

    # Helpers

    def _crash(self, message: str) -> None:
        self.phase, self.problem = Phase.CRASHED, message
        self._close_prompt()
        self._open_failure_panel(f"[b]✗ The run could not go on:[/b] {escape(message)}")

    def _show_failure(self) -> None:
        view = self.views.get(self.failed_step or "")
        if view is None:
            return
        tail = "\n".join(view.tail.splitlines()[-5:]) if view.tail else ""
        text = f"[b]✗ '{escape(view.title)}' failed:[/b] {escape(view.message)}"
        if tail:
            text += "\n[b]Last output:[/b]\n" + escape(tail)
        self.following = False
        self._show_step(view.step_id)
        self.query_one(StepList).point_at(view.step_id)
        self._open_failure_panel(text)

    def _open_failure_panel(self, text: str) -> None:
        view = self.views.get(self.failed or "")
        self.query_one(FailurePanel).open(text, retry=view is not None or bool(self.crashed and self.run),
                                          skip=view is not None and view.safe_to_skip,
                                          show_log=self.log_path is not None, switch_https=self._port80_blocked())
        self.refresh_bindings()

    def _close_prompt(self) -> None:
        if self.query_one(PromptRow).close():
            self.query_one(StepList).focus()

    def _update_progress(self) -> None:
        finished = sum(1 for v in self.views.values() if v.status in SETTLED)
        self.query_one("#progress", ProgressBar).update(progress=finished)

    def _show_step(self, step_id: str | None) -> None:
        self.shown = step_id
        self.query_one(OutputPane).show(self.views[step_id] if step_id else None, self.following)

    def _paced_flush(self) -> None:
        """The timer's flush: ten times a second, twice while a flood lasts (nobody reads 200 lines faster,
        and each repaint costs CPU the command could use and bytes a slow SSH link must carry: a repaint of
        the pane is 5-10 ms here, each one taken from the command on a Pi Zero's one core)."""
        if self._flooding and time.monotonic() - self._flushed_at < FLOOD_FLUSH_SECONDS:
            return
        self._flush()

    def _flush(self) -> None:
        """Move buffered output into each step's store and, for the step shown, into the pane."""
        self._flushed_at, self._flooding = time.monotonic(), False
        if not self.buffer:
            return
        pane = self.query_one(OutputPane)
        for batch in self.buffer.take():
            view = self.views.get(batch.step_id)
            if view is None:
                continue
            completed = view.output.feed(batch.text, batch.cut)
            if batch.step_id == self.shown:
                lines, self._flooding = for_pane(completed, batch.gap)
                if self._flooding:
                    pane.flood(view, lines)
                else:
                    pane.add(lines)
                if not self._flooding:  # mid-flood the unfinished line is just where a chunk happened to end
                    pane.show_partial(view)

    def _tick(self) -> None:
        now = self.app.clock()
        steps = self.query_one(StepList)
        for view in self.views.values():
            if view.status is StepStatus.RUNNING:
                steps.item(view.step_id).show(now)

    def _finish(self) -> None:
        from .finish import FinishScreen

        self.phase = Phase.FINISHED
        self.refresh_bindings()
        self.app.exit_code = 0
        counts = {status: sum(1 for v in self.views.values() if v.status is status) for status in SETTLED}
        self.app.push_screen(FinishScreen(
            self.session, str(self.answers_path or ""), str(self.log_path or ""), counts))

    def _leave(self) -> None:
        stopped_at = (StepStatus.RUNNING, StepStatus.FAILED, StepStatus.STOPPED)
        step = next((v for v in self.views.values() if v.status in stopped_at), None)
        where = f" at '{step.title}'" if step else ""
        self._release()
        self.app.exit(1, return_code=1,
                      message=f"piserver-wizard stopped{where}. Run it again: it resumes where it stopped.")

    def stop_and_quit(self) -> None:
        """Ctrl+Q confirmed while a step runs: stop the command, wait for the engine to record it, leave."""
        self.phase = Phase.QUITTING
        if self.run is not None:
            self.run.cancel()
        self.set_timer(15.0, self._leave)

    # Actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        stopped = self.phase in (Phase.FAILED, Phase.CRASHED)
        view = self.views.get(self.failed or "")
        allowed = {
            "retry": stopped and (self.failed is not None or self.run is not None),
            "skip": stopped and view is not None and view.safe_to_skip,
            "quit_run": stopped,
            "show_log": self.log_path is not None,
            "follow": self.running and not self.following,
            "summary": self.finished,
        }
        return allowed.get(action, True)

    def action_summary(self) -> None:
        """Back from the steps to the summary, once the install has finished."""
        self._finish()

    def action_retry(self) -> None:
        if self.running:
            return
        failed = self.failed
        if failed is None:
            self._start(None, remember=self.answers_path is None)
            return
        steps = self.query_one(StepList)
        for sid in self.order[self.order.index(failed):]:
            self.views[sid].status = StepStatus.WAITING
            steps.item(sid).show(None)
        self.following = True
        self._start(failed)

    def action_skip(self) -> None:
        view = self.views.get(self.failed or "")
        if self.running or view is None or not view.safe_to_skip:
            return
        view.status = StepStatus.SKIPPED
        self.query_one(StepList).item(view.step_id).show(None)
        self._update_progress()
        index = self.order.index(view.step_id)
        self.following = True
        if index + 1 < len(self.order):
            self._start(self.order[index + 1])
        else:
            self.query_one(FailurePanel).display = False
            self._finish()

    def _port80_blocked(self) -> bool:
        """The certificate failed because nothing reached port 80 (wizard.diagnose says so): offer the others."""
        view = self.views.get(self.failed or "")
        return view is not None and SWITCH_MARK in view.message + view.tail

    def action_switch_https(self) -> None:
        """Back to the HTTPS questions with these answers, to choose dns-01 or local-ca; the run resumes after."""
        if self.running or not self._port80_blocked():
            return
        self._release()
        self.app.revisit(self.session.answers, "https")

    def action_show_log(self) -> None:
        from .logview import LogScreen

        if self.log_path is not None:
            self.app.push_screen(LogScreen(self.log_path))

    def action_quit_run(self) -> None:
        if self.running:
            return
        self._release()
        self.app.exit(1, return_code=1,
                      message="piserver-wizard stopped before the end. Fix the cause and run it again: "
                              "it resumes at the step that failed.")

    def action_follow(self) -> None:
        running = next((v for v in self.views.values() if v.status is StepStatus.RUNNING), None)
        if running is not None:
            self.following = True
            self._show_step(running.step_id)
            self.query_one(StepList).point_at(running.step_id)
            self.refresh_bindings()
