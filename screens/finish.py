"""Finish: where everything is and how to look after it, from ``wizard.summary.summary_lines``."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from wizard.session import Session
from wizard.status import StepStatus
from wizard.summary import summary_lines

from .widgets import TitleBar


class FinishScreen(Screen):
    CSS_PATH = "finish.tcss"
    SUB_TITLE = "Finished"
    BINDINGS = [Binding("q,enter", "done", "Quit"), Binding("escape", "steps", "Back to the steps")]

    def __init__(self, session: Session, answers_path: str, log_path: str, counts: dict[StepStatus, int]) -> None:
        super().__init__()
        self.session, self.answers_path, self.log_path, self.counts = session, answers_path, log_path, counts

    def headline(self) -> str:
        did = self.counts.get(StepStatus.DONE, 0)
        already = self.counts.get(StepStatus.ALREADY_DONE, 0)
        passed = self.counts.get(StepStatus.SKIPPED, 0)
        if did == 0 and passed == 0:
            return "Nothing to do: everything was already in place."
        text = f"The install is finished: {did} step{'s' if did != 1 else ''} done"
        if already:
            text += f", {already} already in place"
        if passed:
            text += f", {passed} skipped by you"
        return text + "."

    def compose(self) -> ComposeResult:
        yield TitleBar(self.sub_title)
        with VerticalScroll(id="summary"):
            yield Static(f"[b]✓ {escape(self.headline())}[/b]", id="headline")
            rows = summary_lines(self.session.answers, self.session.facts, self.answers_path, self.log_path)
            for label, value in rows:
                with Horizontal(classes="summary-row"):
                    yield Static(f"[b]{escape(label)}[/b]", classes="summary-label")
                    yield Static(escape(value), classes="summary-value")
        with Horizontal(classes="buttons"):
            yield Button("Quit", id="done", variant="primary", compact=True)
            yield Button("Back to the steps", id="steps", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#done", Button).focus()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self.run_action(event.button.id or "")

    def action_done(self) -> None:
        self.app.exit(0, return_code=0)

    def action_steps(self) -> None:
        self.app.pop_screen()
