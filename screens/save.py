"""Save answers: a small dialog asking where to write the commented answers file."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from .widgets import TypedInput


class SaveScreen(ModalScreen[Path | None]):
    CSS_PATH = "save.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: Path) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="save-dialog", classes="dialog"):
            yield Static("[b]Save answers[/b]: a commented TOML file for an unattended repeat "
                         "(sudo piserver-wizard --answers FILE).")
            yield TypedInput(str(self.default), id="save-path", compact=True)
            yield Static("", id="save-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Save", id="save-ok", variant="primary", compact=True)
                yield Button("Cancel", id="save-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#save-error").display = False
        self.query_one("#save-path", Input).focus()

    def _submit(self) -> None:
        text = self.query_one("#save-path", Input).value.strip()
        error = self.query_one("#save-error", Static)
        if not text:
            error.update("✗ type a file name")
            error.display = True
            return
        path = Path(text).expanduser()
        if path.is_dir():
            path = path / "answers.toml"
        if not path.parent.is_dir():
            error.update(f"✗ no such folder: {path.parent}")
            error.display = True
            return
        self.dismiss(path.absolute())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
