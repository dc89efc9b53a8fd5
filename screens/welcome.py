"""Welcome: what the wizard sets up, what this machine is, what the probe found, and any earlier run."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, LoadingIndicator, OptionList, Static
from textual.widgets.option_list import Option

from wizard import __version__, preflight
from wizard.answers import Answers, AnswersError, load
from wizard.facts import WATCHED_PACKAGES, Facts
from wizard.state import State
from wizard.status import StepStatus
from wizard.units import size_text

from . import messages as m
from .widgets import TitleBar

INTRO = ("This wizard turns this machine into a web host: [b]nginx[/b] in front, your [b]Flask[/b] app under "
         "[b]gunicorn[/b] kept running by [b]supervisor[/b], and [b]Let's Encrypt[/b] HTTPS that renews itself. "
         "It asks a few questions, shows the plan and every file it will write, then installs.")


def facts_markup(facts: Facts) -> str:
    installed = ", ".join(f"{name} {facts.installed[name]}" for name in WATCHED_PACKAGES if facts.has(name))
    rows = [
        ("Hostname", facts.hostname),
        ("System", f"{facts.os_name}, {facts.arch}"),
        ("Addresses", "  ".join(facts.ip_addresses) or "(none found)"),
        ("Python", facts.python_version),
        ("Init", "systemd" if facts.systemd else "no systemd (init scripts)"),
        ("Installed", installed or "none of nginx, supervisor, certbot, apache2 yet"),
        ("Free disk", size_text(facts.free_disk_bytes) + " on /"),
    ]
    return "\n".join(f"[b]{label:<10}[/b] {escape(value)}" for label, value in rows)


def problems_of(facts: Facts) -> list[str]:
    # apache2 on port 80 is not a problem yet: the questions offer to remove it.
    findings = preflight.machine(facts, may_hold_ports=("nginx", "apache2")) + preflight.session(facts)
    return [finding.message for finding in findings]


def earlier_run(state: State, saved: Path, facts: Facts) -> tuple[Answers | None, str] | None:
    """(the saved answers or None when unusable, a line on what that run did), or None without one."""
    if not saved.is_file() or not state.steps:
        return None
    try:
        answers: Answers | None = load(saved, has_systemd=facts.systemd)
        problem = ""
    except AnswersError as error:
        answers, problem = None, str(error)
    # Records may be kept per app ("NAME/STEP"): count those of the app the saved answers describe.
    records = {key: record for key, record in state.steps.items()
               if answers is None or "/" not in key or key.startswith(f"{answers.app.name}/")}
    done = sum(1 for r in records.values() if r.status == StepStatus.DONE)
    failed = [(k, r) for k, r in records.items() if r.status in (StepStatus.FAILED, StepStatus.RUNNING)]
    what = f"{done} step{'s' if done != 1 else ''} done"
    if failed:
        step_id, record = failed[-1]
        title = record.title or step_id.rsplit("/", 1)[-1]  # records may be kept per app: "NAME/STEP"
        why = f": {record.message}" if record.message else ""
        what += f"; stopped at \"{title}\"" + (why if record.status == StepStatus.FAILED else " (interrupted)")
    if answers is None:
        return None, f"{what}. Its answers cannot be used: {problem}"
    return answers, f"{answers.app.name} for {', '.join(answers.site.domains)}: {what}. Answers: {saved}"


def app_line(status) -> str:  # noqa: ANN001 - an AppStatus
    """name, health and where it answers, in one line of an 80-column screen."""
    health = "[green]ok[/]" if not status.problems else f"[b red]PROBLEM[/]: {escape(status.problems[0][:40])}"
    urls = " ".join(u["url"] for u in status.data.get("urls", []) if u["url"].startswith("https"))
    urls = urls or " ".join(u["url"] for u in status.data.get("urls", []))
    return f"{escape(status.name):12} {health}  {escape(urls[:40])}"


class WelcomeScreen(Screen):
    CSS_PATH = "welcome.tcss"
    SUB_TITLE = "Welcome"
    BINDINGS = [
        Binding("r", "resume", "Resume"),
        Binding("c", "change", "Change settings"),
        Binding("o", "start_over", "Start over"),
        Binding("s", "start", "Start"),
        Binding("a", "add_app", "Add an app"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.saved_answers: Answers | None = None
        self.has_earlier = False
        self.statuses: list = []

    def compose(self) -> ComposeResult:
        yield TitleBar(self.sub_title)
        with VerticalScroll(id="welcome-body"):
            yield Static(f"[b]piserver-wizard {__version__}[/b]  " + INTRO, id="intro")
            yield Static("[b]This machine[/b]", classes="heading")
            yield LoadingIndicator(id="probing")
            yield Static("", id="facts")
            yield Static("", id="problems")
            yield Static("", id="earlier")
            yield Static("[b]Apps on this machine[/b] (Enter: status, logs, restart, remove)", id="apps-heading",
                         classes="heading")
            yield OptionList(id="apps", compact=True)
        with Horizontal(id="welcome-buttons", classes="buttons"):
            yield Button("Start", id="start", variant="primary", compact=True)
            yield Button("Resume", id="resume", variant="primary", compact=True)
            yield Button("Change settings", id="change", compact=True)
            yield Button("Start over", id="start_over", compact=True)
            yield Button("Add an app", id="add_app", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.display = False
        self.query_one("#apps-heading").display = self.query_one("#apps").display = False
        if self.app.facts is not None:
            self.post_message(m.FactsReady(self.app.facts))
        else:
            self.probe_machine()

    @work(thread=True, exclusive=True, group="probe")
    def probe_machine(self) -> None:
        facts = self.app.prober()
        self.app.state  # noqa: B018 - load the progress store here, off the app's thread
        self.post_message(m.FactsReady(facts))

    def on_facts_ready(self, message: m.FactsReady) -> None:
        facts: Facts = message.facts  # type: ignore[assignment]
        self.app.facts = facts
        self.query_one("#probing").display = False
        self.query_one("#facts", Static).update(facts_markup(facts))
        problems = problems_of(facts)
        self.query_one("#problems", Static).update(
            "\n".join(f"[b]! {escape(p)}[/b]" for p in problems) if problems else "No problems found.")
        self.query_one("#problems").set_class(bool(problems), "warning")
        earlier = earlier_run(self.app.state, self.app.saved_answers, facts)
        shown: list[str]
        if earlier is None:
            self.query_one("#earlier").display = False
            shown = ["start"]
        else:
            self.saved_answers, what = earlier
            self.has_earlier = True
            self.query_one("#earlier", Static).update(f"[b]An earlier run:[/b] {escape(what)}")
            shown = ["resume", "change", "start_over"] if self.saved_answers else ["start_over"]
        for button in self.query(Button):
            button.display = button.id in shown
        self.query_one(f"#{shown[0]}", Button).focus()
        self.refresh_bindings()
        self.load_apps()

    @work(thread=True, exclusive=True, group="apps")
    def load_apps(self) -> None:
        statuses = self.app.manager.statuses()
        self.app.call_from_thread(self.show_apps, statuses)

    def show_apps(self, statuses: list) -> None:
        """One line per installed app with its health; Enter opens it."""
        self.statuses = statuses
        apps = self.query_one("#apps", OptionList)
        apps.clear_options()
        apps.add_options([Option(app_line(s), id=s.name) for s in statuses])
        self.query_one("#apps-heading").display = apps.display = bool(statuses)
        self.query_one("#add_app").display = bool(statuses)
        if statuses:
            self.query_one("#start").display = False
        self.refresh_bindings()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        from .appview import AppScreen

        status = next((s for s in self.statuses if s.name == event.option.id), None)
        self.app.push_screen(AppScreen(str(event.option.id), status))

    def action_add_app(self) -> None:
        self.app.start_questions()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.app.facts is None and action in ("resume", "change", "start_over", "start"):
            return False
        if action in ("resume", "change"):
            return self.saved_answers is not None
        if action == "start_over":
            return self.has_earlier
        if action == "start":
            return not self.has_earlier and not self.statuses
        if action == "add_app":
            return bool(self.statuses)
        return True

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self.run_action(event.button.id or "")

    def action_start(self) -> None:
        self.app.start_questions()

    def action_start_over(self) -> None:
        self.app.start_questions()

    def action_change(self) -> None:
        self.app.start_questions(self.saved_answers)

    def action_resume(self) -> None:
        self.app.review(self.saved_answers)
