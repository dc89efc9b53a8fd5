"""One installed app: its status and the doctor's findings, with restart, logs, change and remove."""

from __future__ import annotations

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from wizard.verbs.status import AppStatus, text_lines

from .confirm import ConfirmScreen
from .widgets import TitleBar


def status_markup(status: AppStatus | None) -> str:
    if status is None:
        return "Checking…"
    return "\n".join(escape(line) for line in text_lines(status))


class AppScreen(Screen):
    CSS_PATH = "appview.tcss"
    SUB_TITLE = "App"
    BINDINGS = [Binding("escape", "close", "Back"), Binding("l", "logs", "Logs"),
                Binding("r", "restart", "Restart"), Binding("c", "change", "Change"),
                Binding("x", "remove", "Remove"), Binding("d", "refresh", "Check again")]

    def __init__(self, name: str, status: AppStatus | None = None) -> None:
        super().__init__()
        self.app_name, self.status = name, status

    def compose(self) -> ComposeResult:
        yield TitleBar(f"{self.sub_title} {self.app_name}")
        with VerticalScroll(id="app-body"):
            yield Static(status_markup(self.status), id="app-status")
            yield Static("[b]Doctor[/b]", classes="heading")
            yield Static("Checking…", id="app-findings")
            yield Log(id="app-output", max_lines=500)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#app-output").display = False
        self.action_refresh()

    @work(thread=True, exclusive=True, group="check")
    def action_refresh(self) -> None:
        manager = self.app.manager
        status = next((s for s in manager.statuses() if s.name == self.app_name), None)
        findings = manager.findings(self.app_name)
        self.app.call_from_thread(self._show, status, findings)

    def _show(self, status: AppStatus | None, findings: list) -> None:
        self.status = status
        self.query_one("#app-status", Static).update(status_markup(status))
        shown = [f for f in findings if f.level != "ok"] or findings[:0]
        text = "\n".join(escape(f.line()) for f in shown) or f"No problem found ({len(findings)} checks)."
        self.query_one("#app-findings", Static).update(text)

    def _say(self, text: str) -> None:
        log = self.query_one("#app-output", Log)
        log.display = True
        log.write_line(text)

    @work(thread=True, exclusive=True, group="act")
    def action_restart(self) -> None:
        self.app.call_from_thread(self._say, f"Reloading {self.app_name} gracefully…")
        ok, message = self.app.manager.restart(self.app_name)
        self.app.call_from_thread(self._say, message if ok else f"FAILED: {message}")
        self.action_refresh()

    def action_logs(self) -> None:
        from .applogs import AppLogsScreen

        self.app.push_screen(AppLogsScreen(self.app_name))

    def action_change(self) -> None:
        self.app.start_questions(self.app.manager.answers(self.app_name))

    def action_remove(self) -> None:
        plan = self.app.manager.removal_plan(self.app_name)

        def answered(sure: bool | None) -> None:
            if sure:
                self._remove()

        self.app.push_screen(ConfirmScreen(f"Remove {self.app_name}?", escape(plan), yes="Remove"), answered)

    @work(thread=True, exclusive=True, group="act")
    def _remove(self) -> None:
        self.app.call_from_thread(self._say, f"Removing {self.app_name}…")
        ok, output = self.app.manager.remove(self.app_name)
        for line in output.splitlines()[-30:]:
            self.app.call_from_thread(self._say, line)
        self.app.call_from_thread(self._say, "Removed." if ok else "FAILED: see above")

    def action_close(self) -> None:
        self.app.pop_screen()
