"""Small widgets shared by the screens (their styles are in app.tcss)."""

from __future__ import annotations

from rich.markup import escape
from textual import events
from textual.widgets import Input, Static


class TitleBar(Static):
    """One line: the program and where the user is. (Textual's Header would do, but it updates its title
    from a watcher that fails when a screen is dismissed the moment it appears.)"""

    def __init__(self, where: str) -> None:
        super().__init__(f"[b]piserver-wizard[/b] · {escape(where)}", classes="title-bar")


class TypedInput(Input):
    """An Input whose editing keys act in the order they were typed.

    Textual's Input inserts a printable key at once but runs a bound key (backspace, arrows, Enter) only
    after the key has bubbled up to the app, so when both arrive in one read (fast typing, a paste of
    keys, or any slow SSH link that batches keystrokes into one packet) "backspace, 4" on "12" leaves
    "12" instead of "14" (Textual issue #6605). Running the widget's own bindings here, in the key's turn,
    keeps the order.
    """

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, []):
                if binding.priority:
                    continue
                event.stop()
                event.prevent_default()
                await self.run_action(binding.action)
                return
        await super()._on_key(event)
