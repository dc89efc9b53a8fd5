"""Show log: the end of this run's transcript file, in a scrollable pane."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from .output import MAX_LINES, clean
from .widgets import TitleBar


def tail_of(path: Path, count: int = MAX_LINES) -> list[str]:
    """The last lines, cleaned: commands write into the log as they print (colours, progress bars)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            last = deque((line.rstrip("\n") for line in handle), maxlen=count)
        return [clean(line) for line in last]
    except OSError as error:
        return [f"cannot read {path}: {error.strerror or error}"]


class LogScreen(Screen):
    CSS_PATH = "logview.tcss"
    SUB_TITLE = "Run log"
    BINDINGS = [Binding("escape,q", "close", "Back")]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield TitleBar(self.sub_title)
        yield Static(f"[b]{self.path}[/b] (the last {MAX_LINES} lines; the file has everything)",
                     id="log-path")
        yield Log(id="log-view", max_lines=MAX_LINES)
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one("#log-view", Log)
        view.write_lines(tail_of(self.path))
        view.focus()

    def action_close(self) -> None:
        self.app.pop_screen()
