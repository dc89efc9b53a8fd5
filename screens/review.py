"""Review: the plan (each step, done or to do, and its commands), every planned file's diff, Save, Install."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, LoadingIndicator, Static, TabbedContent, TabPane

from wizard import preflight
from wizard.answers import AnswersError, save
from wizard.changes import describe_changes
from wizard.preflight import Level
from wizard.runner import DryRunner
from wizard.session import Session
from wizard.status import StepStatus
from wizard.validators import Invalid

from . import messages as m
from .widgets import TitleBar

STATUS_LABEL = {StepStatus.ALREADY_DONE: "done ", StepStatus.WAITING: "to do", StepStatus.ALWAYS: "check"}
FINDING_LABEL = {Level.REFUSE: "STOP", Level.WARN: "warning", Level.INFO: "note"}


def plan_view(session: Session, statuses: dict[str, StepStatus], changes: list[str],
              findings: list[preflight.Finding] | None = None) -> Group:
    """Each step with its state and, indented (wrapped lines too), the commands and files it involves."""
    parts: list[RenderableType] = []
    steps = session.plan.steps
    todo = sum(1 for s in steps if statuses.get(s.id) != StepStatus.ALREADY_DONE)
    parts.append(Text(f"{len(steps)} steps, {todo} to do or check; done steps are skipped.", style="bold"))
    shown = [f for f in findings or [] if f.level is not Level.INFO]
    if shown:
        parts.append(Text("\nBefore installing (the same checks as the unattended run):", style="bold"))
        parts.extend(Padding(Text(f"{FINDING_LABEL[f.level]}: {f.message}",
                                  style="bold" if f.level is Level.REFUSE else ""), (0, 0, 0, 2)) for f in shown)
    if changes:
        parts.append(Text("\nChanged since the last run:", style="bold"))
        parts.extend(Padding(Text(line), (0, 0, 0, 2)) for line in changes)
    for index, step in enumerate(steps, 1):
        status = statuses.get(step.id, StepStatus.WAITING)
        done = status == StepStatus.ALREADY_DONE
        head = Text(f"\n{index:2}. [{STATUS_LABEL.get(status, status)}] ", style="dim" if done else "bold")
        head.append(step.title, style="" if done else "bold")
        parts.append(head)
        for line in step.describe():
            parts.append(Padding(Text(line, style="dim" if done else ""), (0, 0, 0, 6)))
    return Group(*parts)


def changes_since_last_run(session: Session) -> list[str]:
    """What a re-run changes, in the engine's words (the same lines the unattended run prints)."""
    return describe_changes(session.previous_answers(), session.answers)


def diff_text(diffs: list[tuple[str, str]]) -> Text:
    text = Text()
    changed = [(path, diff) for path, diff in diffs if diff]
    same = [path for path, diff in diffs if not diff]
    text.append(f"{len(changed)} file{'s' if len(changed) != 1 else ''} to write or change", style="bold")
    text.append(f", {len(same)} already as planned.\n" if same else ".\n", style="bold")
    for path, diff in changed:
        text.append(f"\n== {path}\n", style="bold reverse")
        for line in diff.splitlines():
            if line.startswith(("+++", "---")):
                style = "bold"
            elif line.startswith("@@"):
                style = "cyan"
            elif line.startswith("+"):
                style = "green"
            elif line.startswith("-"):
                style = "red"
            else:
                style = ""
            text.append(line + "\n", style=style)
    for path in same:
        text.append(f"\n== {path} (unchanged)\n", style="dim")
    return text


def default_save_path() -> Path:
    return Path.cwd() / "answers.toml"


class ReviewScreen(Screen):
    CSS_PATH = "review.tcss"
    SUB_TITLE = "Review the plan"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("p", "tab('plan')", "Plan"),
        Binding("f", "tab('files')", "Files"),
        Binding("s", "save", "Save answers"),
        Binding("i", "install", "Install"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.findings: list[preflight.Finding] = []

    def compose(self) -> ComposeResult:
        yield TitleBar(self.sub_title)
        yield LoadingIndicator(id="planning")
        with TabbedContent(id="review-tabs"):
            with TabPane("Plan", id="plan"):
                with VerticalScroll(id="plan-scroll"):
                    yield Static("", id="plan-text")
            with TabPane("Files", id="files"):
                with VerticalScroll(id="files-scroll"):
                    yield Static("", id="files-text")
        with Horizontal(classes="buttons"):
            yield Button("Back", id="back", compact=True)
            yield Button("Save answers", id="save", compact=True)
            yield Button("Install", id="install", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#review-tabs").display = False
        self.prepare()

    @work(thread=True, exclusive=True, group="plan")
    def prepare(self) -> None:
        """Plan and status checks ask the machine (dpkg, systemctl): off the app's thread."""
        try:
            answers = self.app.draft.answers()
            session = self.app.session_factory(answers, self.app.facts)
            quiet = lambda event: None  # noqa: E731
            statuses = session.engine(DryRunner(quiet), quiet).statuses()
            diffs = [(f.path, f.diff()) for f in session.plan.planned_files()]
            changes = changes_since_last_run(session)
            findings = preflight.check(answers, self.app.facts)
        except (Invalid, AnswersError, OSError) as error:
            self.post_message(m.PlanFailed(str(error)))
            return
        self.post_message(m.PlanReady(session, statuses, diffs, changes, findings))

    def on_plan_ready(self, message: m.PlanReady) -> None:
        self.session = message.session  # type: ignore[assignment]
        assert self.session is not None
        self.query_one("#planning").display = False
        self.query_one("#review-tabs").display = True
        self.findings = message.findings
        self.query_one("#plan-text", Static).update(
            plan_view(self.session, message.statuses, message.changes, message.findings))
        self.query_one("#files-text", Static).update(diff_text(message.diffs))
        self.query_one("#plan-scroll").focus()
        self.refresh_bindings()

    def on_plan_failed(self, message: m.PlanFailed) -> None:
        self.query_one("#planning").display = False
        self.notify(f"Cannot make the plan: {message.message}", severity="error", timeout=10)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("save", "install", "tab") and self.session is None:
            return None
        return True

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane_id = event.pane.id
        if pane_id:
            self.query_one(f"#{pane_id}-scroll").focus()

    def action_tab(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane
        self.query_one(f"#{pane}-scroll").focus()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self.run_action(event.button.id or "")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_save(self) -> None:
        from .save import SaveScreen

        if self.session is None:
            return

        def chosen(path: Path | None) -> None:
            if path is None or self.session is None:
                return
            try:
                save(self.session.answers, path)
            except OSError as error:
                self.notify(f"Could not save {path}: {error.strerror or error}", severity="error", timeout=8)
                return
            self.notify(f"Saved. Run it again unattended with: sudo piserver-wizard --answers {path}", timeout=8)

        self.app.push_screen(SaveScreen(default_save_path()), chosen)

    def action_install(self) -> None:
        """Install; past a preflight refusal only when the user says so (the unattended run's --force)."""
        from .confirm import ConfirmScreen

        session = self.session
        if session is None:
            return
        refusals = [f.message for f in self.findings if f.level is Level.REFUSE]
        if not refusals:
            self.app.install(session)
            return

        def answered(go: bool | None) -> None:
            if go:
                self.app.install(session)

        self.app.push_screen(ConfirmScreen("Install anyway?", "\n".join(refusals), yes="Install anyway",
                                           no="Back to the review"), answered)
