"""Keys that arrive in one read act in the order typed (a slow SSH link batches keystrokes)."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input

from screens.widgets import TypedInput


class OneField(App):
    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[str] = []

    def compose(self) -> ComposeResult:
        yield TypedInput("12", id="field")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submitted.append(event.value)


def burst(app: App, *keys: str) -> None:
    """Post keys the way the driver does for one read from the terminal: back to back, no waiting."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def focused(app: App, pilot: object) -> TypedInput:
    field = app.query_one(TypedInput)
    field.focus()
    field.cursor_position = len(field.value)
    await pilot.pause()  # type: ignore[attr-defined]
    return field


async def test_backspace_then_a_digit_in_one_read() -> None:
    app = OneField()
    async with app.run_test() as pilot:
        field = await focused(app, pilot)
        burst(app, "backspace", "4")
        await pilot.pause(0.2)
        assert field.value == "14"  # Textual's own Input leaves "12": the 4 typed, then deleted


async def test_arrows_and_enter_keep_their_place() -> None:
    app = OneField()
    async with app.run_test() as pilot:
        field = await focused(app, pilot)
        burst(app, "left", "left", "0", "end", "5", "enter", "9")
        await pilot.pause(0.2)
        assert app.submitted == ["0125"]
        assert field.value == "01259"
