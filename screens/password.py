"""The sudo password: a modal with a masked input. The value is handed to the runner and not kept.

It is never logged: it goes from the Input straight to ``dismiss`` and from there to the runner, which
sends it to sudo on the pty (where echo is off); the Input is cleared as the dialog closes.
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from .widgets import TypedInput


class PasswordScreen(ModalScreen[str | None]):
    CSS_PATH = "password.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, step_title: str, user: str) -> None:
        super().__init__()
        self.step_title, self.user = step_title, user

    def compose(self) -> ComposeResult:
        with Vertical(id="password-dialog", classes="dialog"):
            yield Static(f"[b]sudo asks for the password of {escape(self.user)}[/b]")
            yield Static(f"For: {escape(self.step_title)}. It is sent to sudo only: not shown, "
                         "not logged, not kept.", id="password-detail")
            yield TypedInput(password=True, id="password-input", compact=True, placeholder="password")
            with Horizontal(classes="buttons"):
                yield Button("Send", id="password-ok", variant="primary", compact=True)
                yield Button("Cancel", id="password-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#password-input", Input).focus()

    def _take(self) -> str:
        field = self.query_one("#password-input", Input)
        value = field.value
        field.value = ""
        return value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self._take())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "password-ok":
            self.dismiss(self._take())
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self._take()
        self.dismiss(None)
