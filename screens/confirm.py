"""A yes/no question over the current screen (quitting while a step runs)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "confirm.tcss"
    BINDINGS = [Binding("escape", "no", "Cancel"), Binding("y", "yes", "Yes", show=False),
                Binding("n", "no", "No", show=False)]

    def __init__(self, question: str, detail: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.detail, self.yes_label, self.no_label = question, detail, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Static(f"[b]{self.question}[/b]")
            yield Static(self.detail, id="confirm-detail")
            with Horizontal(classes="buttons"):
                yield Button(self.no_label, id="no", compact=True)
                yield Button(self.yes_label, id="yes", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
