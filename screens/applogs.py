"""An app's logs followed in a pane: its output and nginx's logs for its site, in time order."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from wizard.verbs.logs import TAIL_BYTES, merged, render

from .widgets import TitleBar

FOLLOW_INTERVAL = 0.5


class AppLogsScreen(Screen):
    CSS_PATH = "logview.tcss"
    SUB_TITLE = "Logs"
    BINDINGS = [Binding("escape,q", "close", "Back")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.app_name = name
        self.sources: list = []

    def compose(self) -> ComposeResult:
        yield TitleBar(f"{self.sub_title} of {self.app_name}")
        yield Static(f"[b]{self.app_name}[/b]: app output and nginx, newest last (following)", id="log-path")
        yield Log(id="log-view", max_lines=2000)
        yield Footer()

    def on_mount(self) -> None:
        self.sources = self.app.manager.log_sources(self.app_name)
        self.query_one("#log-view", Log).focus()
        self._read(TAIL_BYTES)
        self.set_interval(FOLLOW_INTERVAL, self._read)

    @work(thread=True, exclusive=True, group="logs")
    def _read(self, tail_bytes: int | None = None) -> None:
        lines = [render(entry) for entry in merged([s.read_new(tail_bytes) for s in self.sources])]
        if lines:
            self.app.call_from_thread(self.query_one("#log-view", Log).write_lines, lines[-2000:])

    def action_close(self) -> None:
        self.app.pop_screen()
