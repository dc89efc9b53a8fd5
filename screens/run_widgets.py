"""The run screen's parts: the step list, the output pane, the prompt row and the failure panel.

Each owns its widgets and says what the user did with a message of its own; the screen decides what
follows. They keep the ids and containers the screen's stylesheet (run.tcss) and the tests know.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, ListItem, ListView, Log, Static

from wizard.status import StepStatus

from .output import MAX_LINES, StepOutput
from .widgets import TypedInput

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
    """What the screen knows of one step in this run: its state, times, output and failure."""

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


class StepList(ListView):
    """The steps with their state and time; choosing one says so with :class:`StepList.Chosen`."""

    class Chosen(Message):
        def __init__(self, view: StepView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, views: list[StepView]) -> None:
        super().__init__(*(StepItem(view, i) for i, view in enumerate(views, 1)), id="steps")
        self.order = [view.step_id for view in views]

    def item(self, step_id: str) -> StepItem:
        return self.query_one(f"#step-{step_id}", StepItem)

    def point_at(self, step_id: str) -> None:
        self.index = self.order.index(step_id)

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, StepItem):
            event.stop()
            self.post_message(self.Chosen(event.item.view))


class OutputPane(Vertical):
    """One step's output: a title, the last lines, and the line still being written under them."""

    DEFAULT_CSS = "OutputPane { width: 100%; height: 1fr; }"

    def __init__(self) -> None:
        super().__init__(id="output-pane")
        self._partial_shown = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="pane-title")
        yield Log(id="output", max_lines=MAX_LINES)
        yield Static("", id="partial")

    def show(self, view: StepView | None, following: bool) -> None:
        """Show a step from its start (what it kept), or nothing."""
        log = self.query_one("#output", Log)
        log.clear()
        title = self.query_one("#pane-title", Static)
        if view is None:
            title.update("Output", layout=False)
            self.query_one("#partial").display = False
            self._partial_shown = ""
            return
        follow = " (following)" if following else " (f: follow the running step)"
        title.update(f"[b]Output:[/b] {escape(view.title)}{follow}", layout=False)
        log.write_lines([line or " " for line in view.output.lines])
        log.scroll_end(animate=False)
        self.show_partial(view)

    def add(self, lines: list[str]) -> None:
        # write_lines: one refresh for the batch (Log.write refreshes line by line: 40 ms per 2000).
        self.query_one("#output", Log).write_lines(lines)

    def flood(self, view: StepView, lines: list[str]) -> None:
        """A flood's flush: the pane's line count stays put, so no flush lays the whole screen out again.

        Every change of the Log's line count is a layout of the whole screen (its virtual size is a layout
        reactive: 10-30 ms on this machine with 16 steps, most of the TUI's CPU during a flood). So once
        the step has kept ``MAX_LINES``, the pane is filled with them once (what selecting the step shows)
        and from then on each flush adds as many lines as the Log drops: only the visible lines repaint."""
        log = self.query_one("#output", Log)
        if log.line_count >= MAX_LINES or len(view.output.lines) < MAX_LINES:
            log.write_lines(lines)
        else:  # no clear(): the Log drops what it had itself and keeps its width (a clear is two layouts)
            log.write_lines([line or " " for line in view.output.lines])

    def show_partial(self, view: StepView) -> None:
        """The line still being written (a progress bar, a question) shows under the pane until it ends."""
        shown = view.output.partial if view.output.partial.strip() else ""
        if shown != self._partial_shown:  # a repaint only when it changes: floods change lines, not this
            self._partial_shown = shown
            partial = self.query_one("#partial", Static)
            partial.update(Text(shown), layout=False)
            partial.display = bool(shown)


class PromptRow(Horizontal):
    """A question a command asked that nobody foresaw, and a line to answer it (:class:`Answered`)."""

    class Answered(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__(id="prompt-row")

    def compose(self) -> ComposeResult:
        yield Label("", id="prompt-label")
        yield TypedInput(id="prompt-input", compact=True, placeholder="type an answer, Enter sends it")

    def on_mount(self) -> None:
        self.display = False

    def ask(self, question: str) -> None:
        self.query_one("#prompt-label", Label).update(f"The command asks: {escape(question)}")
        self.display = True
        self.query_one("#prompt-input", Input).focus()

    def close(self) -> bool:
        """Hide the row; True when it was shown (the caller moves the focus back)."""
        if not self.display:
            return False
        self.display = False
        self.query_one("#prompt-input", Input).value = ""
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Answered(event.value))


class FailurePanel(Vertical):
    """Why the run stopped, and what can be done now; a button press is :class:`Chosen` (an action name)."""

    class Chosen(Message):
        def __init__(self, action: str) -> None:
            super().__init__()
            self.action = action

    def __init__(self) -> None:
        super().__init__(id="failure")

    def compose(self) -> ComposeResult:
        yield Static("", id="failure-text")
        with Horizontal(classes="buttons"):
            yield Button("Retry", id="retry", variant="primary", compact=True)
            yield Button("Skip", id="skip", compact=True)
            yield Button("Show log", id="show_log", compact=True)
            yield Button("Use DNS-01 or the local CA", id="switch_https", compact=True)
            yield Button("Quit", id="quit_run", variant="error", compact=True)

    def on_mount(self) -> None:
        self.display = False

    def open(self, text: str, *, retry: bool, skip: bool, show_log: bool, switch_https: bool = False) -> None:
        """Show ``text`` (markup) with the buttons that apply; the first of Retry or Quit gets the focus."""
        self.query_one("#failure-text", Static).update(text)
        self.display = True
        self.query_one("#retry").display = retry
        self.query_one("#skip").display = skip
        self.query_one("#show_log").display = show_log
        self.query_one("#switch_https").display = switch_https  # port 80 unreachable: other ways to HTTPS
        self.query_one("#retry" if retry else "#quit_run", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Chosen(event.button.id or ""))
