"""Run: the steps with their state and time, overall progress, the live output pane, prompts, failures.

The screen drives a :class:`wizard.session.RunSession` (the lock, the plan as the machine holds it at
Install, the run log, the runner, cancellation); its engine runs in a thread worker. The commands write
their output into the run log themselves and the runner reads it back; the session writes the wizard's own
lines, and this screen's listener posts one typed message per event; nothing in the worker touches a
widget. Output messages only fill a buffer: a timer flushes it to the ``Log`` every 0.1 s, cut to the last
``MAX_LINES`` lines, so a flood from apt costs one widget update per tick, never one per line, and never
slows apt (it does not wait for the screen).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, ListItem, ListView, Log, ProgressBar, Static

from wizard.events import Event
from wizard.lock import LockedError
from wizard.session import RunSession, Session
from wizard.state import StateError
from wizard.status import SETTLED, StepStatus

from . import messages as m
from .output import MAX_LINES, StepOutput, clean, cut_to_last_lines, size_text
from .widgets import TitleBar, TypedInput

FLUSH_SECONDS = float(os.environ.get("PISERVER_WIZARD_FLUSH_SECONDS", "0.1"))
PENDING_LIMIT = 1 << 20  # characters of one step's output held between two flushes
FLOOD_LINES = 200  # lines a flush adds to the followed pane at most
FLOOD_FLUSH_SECONDS = 0.25  # while a flood lasts, the pane repaints at most this often (CPU, terminal bytes)
GLYPHS = {StepStatus.WAITING: "·", StepStatus.RUNNING: "▶", StepStatus.DONE: "✓", StepStatus.ALREADY_DONE: "=",
          StepStatus.SKIPPED: "»", StepStatus.FAILED: "✗", StepStatus.STOPPED: "■"}
WORDS = {StepStatus.WAITING: "waiting", StepStatus.RUNNING: "running", StepStatus.DONE: "done",
         StepStatus.ALREADY_DONE: "already done", StepStatus.SKIPPED: "skipped", StepStatus.FAILED: "FAILED",
         StepStatus.STOPPED: "stopped"}


def fmt_seconds(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


@dataclass
class StepView:
    step_id: str
    title: str
    safe_to_skip: bool
    status: StepStatus = StepStatus.WAITING
    started: float | None = None
    elapsed: float | None = None
    output: StepOutput = field(default_factory=StepOutput)
    message: str = ""
    tail: str = ""


class StepItem(ListItem):
    def __init__(self, view: StepView, index: int) -> None:
        super().__init__(id=f"step-{view.step_id}", classes="step-item")
        self.view, self.index = view, index
        self._shown = ("", "")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="step-line"):
            yield Label("", classes="step-title")
            yield Label("", classes="step-state")

    def on_mount(self) -> None:
        self.show(None)

    def show(self, now: float | None) -> None:
        """Repaint what changed, and only that: both labels have a fixed size, so no layout pass is needed
        (a layout of the whole screen per label, every second and at every step, cost 8 ms a call)."""
        view = self.view
        title = f"{GLYPHS[view.status]} {self.index:2}. {escape(view.title)}"
        word = WORDS[view.status]
        if view.status is StepStatus.RUNNING and view.started is not None and now is not None:
            word += f" {fmt_seconds(now - view.started)}"
        elif view.elapsed is not None and view.status in (StepStatus.DONE, StepStatus.FAILED):
            word += f" {fmt_seconds(view.elapsed)}"
        if (title, word) == self._shown:
            return
        if title != self._shown[0]:
            self.query_one(".step-title", Label).update(title, layout=False)
        if word != self._shown[1]:
            self.query_one(".step-state", Label).update(word, layout=False)
        self._shown = (title, word)
        # One restyle for the change of status, not one per class added or removed (each is milliseconds).
        classes = {name for name in self.classes if name[1:] not in GLYPHS} | {f"-{view.status}"}
        if classes != set(self.classes):
            self.set_classes(classes)


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
        self.running = False
        self.finished = False
        self.failed: str | None = None
        self.crashed = ""
        self.shown: str | None = None
        self.following = True
        self.answers_path: Path | None = None
        self.log_path: Path | None = None
        self.run: RunSession | None = None  # made on mount: the lock, then the plan that runs
        self._pending: dict[str, list[str]] = {}
        self._pending_size: dict[str, int] = {}
        self._pending_cut: set[str] = set()
        self._pending_skipped: dict[str, int] = {}
        self._partial_shown = ""
        self._flooding = False
        self._flushed_at = 0.0
        self._quitting = False

    # Layout

    def compose(self) -> ComposeResult:
        yield TitleBar(self.sub_title)
        with Horizontal(id="progress-line"):
            yield Static("Starting", id="progress-label")
            yield ProgressBar(total=len(self.order), show_eta=False, id="progress")
        yield ListView(*(StepItem(self.views[sid], i) for i, sid in enumerate(self.order, 1)), id="steps")
        yield Static("", id="pane-title")
        yield Log(id="output", max_lines=MAX_LINES)
        yield Static("", id="partial")
        with Horizontal(id="prompt-row"):
            yield Label("", id="prompt-label")
            yield TypedInput(id="prompt-input", compact=True, placeholder="type an answer, Enter sends it")
        with Vertical(id="failure"):
            yield Static("", id="failure-text")
            with Horizontal(classes="buttons"):
                yield Button("Retry", id="retry", variant="primary", compact=True)
                yield Button("Skip", id="skip", compact=True)
                yield Button("Show log", id="show_log", compact=True)
                yield Button("Quit", id="quit_run", variant="error", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#prompt-row").display = False
        self.query_one("#failure").display = False
        self.set_interval(FLUSH_SECONDS, self._paced_flush, name="flush-output")
        self.set_interval(1.0, self._tick, name="elapsed")
        self.query_one("#steps").focus()
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
        self.run = run
        if [s.id for s in session.plan.steps] != self.order:
            self._crash("the plan changed since the review (another run?): go back and review it again")
            return False
        self.session = session
        run.listeners.append(self._emit)
        return True

    def _open_log(self) -> bool:
        """The run log the commands write into, and the runner that hands them it (once per run)."""
        assert self.run is not None
        self.log_path = self.run.log_path
        try:
            self.run.start_log()
        except OSError as error:
            self._crash(f"cannot open the run log {self.log_path}: {error.strerror or error}")
            return False
        return True

    def _start(self, start_at: str | None, remember: bool = False) -> None:
        if self.run is None or not self._open_log():
            return
        self.running = True
        self.failed = None
        self.crashed = ""
        self.query_one("#failure").display = False
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
        except (StateError, OSError) as error:
            self.post_message(m.RunCrashed(str(error)))
        except Exception as error:  # a bug must end as a message on screen, not a silent dead worker
            self.post_message(m.RunCrashed(f"{type(error).__name__}: {error}"))

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
        self._item(event.step_id).show(self.app.clock())
        if self.following:
            self._show_step(event.step_id)
            self.query_one("#steps", ListView).index = self.order.index(event.step_id)

    def on_command_started(self, message: m.CommandStarted) -> None:
        self._pending.setdefault(message.event.step_id, []).append(f"$ {message.event.display}\n")

    def on_output(self, message: m.Output) -> None:
        step_id, text = message.event.step_id, message.event.text
        if message.event.skipped:  # the runner passed over part of a flood: the line in progress ended
            self._pending_skipped[step_id] = self._pending_skipped.get(step_id, 0) + message.event.skipped
            self._pending_cut.add(step_id)
        chunks = self._pending.setdefault(step_id, [])
        chunks.append(text)
        size = self._pending_size.get(step_id, 0) + len(text)
        # A flood between two flushes: drop the oldest chunks (the log file has them), so memory stays
        # bounded by the pane, not by how fast the command writes. Whole chunks: no per-line work here.
        while len(chunks) > 1 and size - len(chunks[0]) >= PENDING_LIMIT:
            size -= len(chunks.pop(0))
            self._pending_cut.add(step_id)
        self._pending_size[step_id] = size

    def on_prompt_needed(self, message: m.PromptNeeded) -> None:
        self._flush()
        self.query_one("#prompt-label", Label).update(f"The command asks: {escape(message.event.text)}")
        self.query_one("#prompt-row").display = True
        self.query_one("#prompt-input", Input).focus()

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
        self._item(event.step_id).show(self.app.clock())
        self._hide_prompt()
        self._update_progress()

    def on_run_finished(self, message: m.RunFinished) -> None:
        event = message.event
        self._flush()
        self.running = False
        if self._quitting:
            self._leave()
            return
        if event.ok:
            self.query_one("#progress-label", Static).update("Finished", layout=False)
            self.refresh_bindings()
            self._finish()
            return
        self.failed = event.failed_step
        self._show_failure()

    def on_run_crashed(self, message: m.RunCrashed) -> None:
        self._flush()
        if self._quitting:
            self._leave()
            return
        self._crash(message.message)

    # Helpers

    def _item(self, step_id: str) -> StepItem:
        return self.query_one(f"#step-{step_id}", StepItem)

    def _crash(self, message: str) -> None:
        self.running = False
        self.crashed = message
        self._hide_prompt()
        self.query_one("#failure-text", Static).update(f"[b]✗ The run could not go on:[/b] {escape(message)}")
        self._show_failure_panel()

    def _show_failure(self) -> None:
        view = self.views.get(self.failed or "")
        if view is None:
            return
        tail = "\n".join(view.tail.splitlines()[-5:]) if view.tail else ""
        text = f"[b]✗ '{escape(view.title)}' failed:[/b] {escape(view.message)}"
        if tail:
            text += "\n[b]Last output:[/b]\n" + escape(tail)
        self.query_one("#failure-text", Static).update(text)
        self.following = False
        self._show_step(view.step_id)
        self.query_one("#steps", ListView).index = self.order.index(view.step_id)
        self._show_failure_panel()

    def _show_failure_panel(self) -> None:
        failure = self.query_one("#failure")
        failure.display = True
        view = self.views.get(self.failed or "")
        self.query_one("#retry").display = view is not None or bool(self.crashed and self.run)
        self.query_one("#skip").display = view is not None and view.safe_to_skip
        self.query_one("#show_log").display = self.log_path is not None
        self.query_one("#retry" if self.query_one("#retry").display else "#quit_run", Button).focus()
        self.refresh_bindings()

    def _hide_prompt(self) -> None:
        row = self.query_one("#prompt-row")
        if row.display:
            row.display = False
            self.query_one("#prompt-input", Input).value = ""
            self.query_one("#steps").focus()

    def _update_progress(self) -> None:
        finished = sum(1 for v in self.views.values() if v.status in SETTLED)
        self.query_one("#progress", ProgressBar).update(progress=finished)

    def _show_step(self, step_id: str | None) -> None:
        self.shown = step_id
        log = self.query_one("#output", Log)
        log.clear()
        if step_id is None:
            self.query_one("#pane-title", Static).update("Output", layout=False)
            self.query_one("#partial").display = False
            self._partial_shown = ""
            return
        view = self.views[step_id]
        follow = " (following)" if self.following else " (f: follow the running step)"
        self.query_one("#pane-title", Static).update(f"[b]Output:[/b] {escape(view.title)}{follow}", layout=False)
        log.write_lines([line or " " for line in view.output.lines])
        log.scroll_end(animate=False)
        self._show_partial(view)

    def _show_partial(self, view: StepView) -> None:
        """The line still being written (a progress bar, a question) shows under the pane until it ends."""
        partial = self.query_one("#partial", Static)
        shown = view.output.partial if view.output.partial.strip() else ""
        if shown != self._partial_shown:  # a repaint only when it changes: floods change lines, not this
            self._partial_shown = shown
            partial.update(Text(shown), layout=False)
            partial.display = bool(shown)

    def _paced_flush(self) -> None:
        """The timer's flush: ten times a second, four while a flood lasts (nobody reads 200 lines faster,
        and each repaint costs CPU the command could use and bytes a slow SSH link must carry)."""
        if self._flooding and time.monotonic() - self._flushed_at < FLOOD_FLUSH_SECONDS:
            return
        self._flush()

    def _flush(self) -> None:
        """Move buffered output into each step's store and, for the step shown, into the Log."""
        self._flushed_at, self._flooding = time.monotonic(), False
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        was_cut, self._pending_cut = self._pending_cut, set()
        skipped_bytes, self._pending_skipped = self._pending_skipped, {}
        self._pending_size = {}
        log = self.query_one("#output", Log)
        for step_id, chunks in pending.items():
            view = self.views.get(step_id)
            if view is None:
                continue
            raw, cut = cut_to_last_lines("".join(chunks), MAX_LINES)
            cut = cut or step_id in was_cut
            text = clean(raw)
            gap = skipped_bytes.get(step_id, 0)
            if gap:  # the step's history says where it has a hole; the log file has no holes
                text = f"… {size_text(gap)} more output, not read back (the log file has it all) …\n" + text
            completed = view.output.feed(text, cut)
            if step_id == self.shown:
                # write_lines: one refresh for the batch (Log.write refreshes line by line: 40 ms per 2000).
                # A flood sends more per tick than anyone reads: the pane gets the newest FLOOD_LINES and a
                # note; the step keeps its last MAX_LINES (reopen it to scroll them), the log file all.
                flooding = len(completed) > FLOOD_LINES or bool(gap)
                self._flooding = flooding
                if len(completed) > FLOOD_LINES:
                    hidden = len(completed) - FLOOD_LINES
                    more = f"{hidden:,} more lines" + (f" and {size_text(gap)} more output" if gap else "")
                    completed = [f"… {more} (selecting the step shows the last {MAX_LINES:,}; "
                                 "the log file has them all) …", *completed[-FLOOD_LINES:]]
                log.write_lines([line or " " for line in completed])
                if not flooding:  # mid-flood the unfinished line is just where a chunk happened to end
                    self._show_partial(view)

    def _tick(self) -> None:
        now = self.app.clock()
        for view in self.views.values():
            if view.status is StepStatus.RUNNING:
                self._item(view.step_id).show(now)

    def action_summary(self) -> None:
        """Back from the steps to the summary, once the install has finished."""
        self._finish()

    def _finish(self) -> None:
        from .finish import FinishScreen

        self.finished = True
        self.refresh_bindings()
        self.app.exit_code = 0
        counts = {status: sum(1 for v in self.views.values() if v.status is status) for status in SETTLED}
        self.app.push_screen(FinishScreen(
            self.session, str(self.answers_path or ""), str(self.log_path or ""), counts))

    def _leave(self) -> None:
        step = next((v for v in self.views.values() if v.status in (StepStatus.RUNNING, StepStatus.FAILED, StepStatus.STOPPED)), None)
        where = f" at '{step.title}'" if step else ""
        self._release()
        self.app.exit(1, return_code=1,
                      message=f"piserver-wizard stopped{where}. Run it again: it resumes where it stopped.")

    def stop_and_quit(self) -> None:
        """Ctrl+Q confirmed while a step runs: stop the command, wait for the engine to record it, leave."""
        self._quitting = True
        if self.run is not None:
            self.run.cancel()
        self.set_timer(15.0, self._leave)

    # The user

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        item = event.item
        if isinstance(item, StepItem):
            self.following = item.view.status is StepStatus.RUNNING
            self._show_step(item.view.step_id)
            self.refresh_bindings()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "prompt-input":
            if self.run is not None:
                self.run.send_input(event.value)
            self._hide_prompt()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self.run_action(event.button.id or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        stopped = not self.running and (self.failed is not None or bool(self.crashed))
        if action == "retry":
            return stopped and (self.failed is not None or self.run is not None)
        if action == "skip":
            view = self.views.get(self.failed or "")
            return stopped and view is not None and view.safe_to_skip
        if action == "quit_run":
            return stopped
        if action == "show_log":
            return self.log_path is not None
        if action == "follow":
            return self.running and not self.following
        if action == "summary":
            return self.finished
        return True

    def action_retry(self) -> None:
        if self.running:
            return
        if self.failed is None:
            self._start(None, remember=self.answers_path is None)
            return
        failed = self.failed
        for sid in self.order[self.order.index(failed):]:
            self.views[sid].status = StepStatus.WAITING
            self._item(sid).show(None)
        self.following = True
        self._start(failed)

    def action_skip(self) -> None:
        view = self.views.get(self.failed or "")
        if self.running or view is None or not view.safe_to_skip:
            return
        view.status = StepStatus.SKIPPED
        self._item(view.step_id).show(None)
        self._update_progress()
        index = self.order.index(view.step_id)
        self.following = True
        if index + 1 < len(self.order):
            self._start(self.order[index + 1])
        else:
            self.failed = None
            self.query_one("#failure").display = False
            self._finish()

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
            self.query_one("#steps", ListView).index = self.order.index(running.step_id)
            self.refresh_bindings()
