"""Small widgets shared by the screens (their styles are in app.tcss)."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static


class TitleBar(Static):
    """One line: the program and where the user is. (Textual's Header would do, but it updates its title
    from a watcher that fails when a screen is dismissed the moment it appears.)"""

    def __init__(self, where: str) -> None:
        super().__init__(f"[b]piserver-wizard[/b] · {escape(where)}", classes="title-bar")
