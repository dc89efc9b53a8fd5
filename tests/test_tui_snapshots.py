"""Every screen at 80x24, as SVG snapshots (pytest-textual-snapshot; update with --snapshot-update).

Deterministic by construction: fixed facts, a scripted engine with fixed events, a frozen clock, and fixed
paths (nothing from tmp_path appears on screen).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Input

from screens.app import make_app
from screens.confirm import ConfirmScreen
from screens.questions import QuestionsScreen
from screens.review import ReviewScreen
from screens.run import RunScreen
from screens.welcome import WelcomeScreen
from wizard.answers import save
from wizard.facts import Listener
from wizard.state import State, StepRecord
from wizard.status import StepStatus

import tui_helpers as h

SIZE = (80, 24)
FIXED = Path("/tmp/piserver-wizard-snapshot")  # shown on screen, so it must not vary between runs


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("PISERVER_WIZARD_STATE_DIR", str(tmp_path / "state"))
    for name in ("NO_COLOR", "SSH_CONNECTION", "SSH_TTY"):  # the welcome screen's notes depend on these
        monkeypatch.delenv(name, raising=False)
    FIXED.mkdir(parents=True, exist_ok=True)


def app_for(tmp: Path, *, fail_at: str | None = None, statuses=None, facts=None, state=None, saved=None):
    return make_app(facts=facts or h.fixed_facts(), state=state or State(tmp / "state.json"),
                    session_factory=h.scripted_factory(tmp, fail_at=fail_at, statuses=statuses),
                    runner_factory=h.NullRunner, log_path=lambda: FIXED / "run.log", clock=lambda: 0.0,
                    saved_answers=saved or tmp / "none.toml")


def steady_cursors(pilot) -> None:
    """A blinking cursor is drawn or not by the clock: on a loaded machine the snapshot caught either."""
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False


async def settle(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if condition():
            await pilot.pause(0.1)
            return
    raise AssertionError(f"screen did not settle: {pilot.app.screen!r}")


def test_welcome(snap_compare, tmp_path):
    app = app_for(tmp_path)

    async def ready(pilot):
        await settle(pilot, lambda: isinstance(pilot.app.screen, WelcomeScreen) and pilot.app.facts is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_welcome_with_problems_and_an_earlier_run(snap_compare, tmp_path):
    saved = FIXED / "answers.toml"
    save(h.sample_answers(), saved)
    facts = h.fixed_facts(dpkg_audit="The following packages are only half configured",
                          free_disk_bytes=300 * 1024 ** 2, installed={"apache2": "2.4.57-2"},
                          listeners=[Listener(80, "apache2", 123)])
    state = State(tmp_path / "state.json", steps={"hello/apt-update": StepRecord("done"),
                                                 "hello/nginx-install": StepRecord("done"),
                                                 "hello/certificate": StepRecord(
                                                     "failed", message="DNS problem",
                                                     title="Get a certificate for pi.example.com")})
    app = app_for(tmp_path, facts=facts, state=state, saved=saved)

    async def ready(pilot):
        await settle(pilot, lambda: isinstance(pilot.app.screen, WelcomeScreen) and pilot.app.facts is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


@pytest.mark.parametrize("section", ["system", "site", "app", "https"])
def test_questions(snap_compare, tmp_path, section):
    """Each section; site and https after a refused Next, so the messages under the fields show."""
    app = app_for(tmp_path, facts=h.fixed_facts(installed={"apache2": "2.4.57-2"}))

    async def ready(pilot):
        await settle(pilot, lambda: pilot.app.facts is not None)
        pilot.app.start_questions()
        await settle(pilot, lambda: isinstance(pilot.app.screen, QuestionsScreen))
        for name in ("site", "app", "https"):
            if pilot.app.screen.section == section:
                break
            if name == "app":
                pilot.app.draft.set("site.domains", "pi.example.com")
            pilot.app.after_section(pilot.app.screen.section)
            await settle(pilot, lambda n=name: getattr(pilot.app.screen, "section", "") == n)
        if section in ("site", "https"):  # as after a refused Next, without the passing notification
            pilot.app.draft.attempted.add(section)
            pilot.app.screen.show_errors()
        if section == "app":
            field = pilot.app.screen.query_one("#f-app-bind")
            field.focus()
            field.value = "0.0.0.0:80"
        steady_cursors(pilot)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_questions_a_web_address_for_a_domain(snap_compare, tmp_path):
    """A field error in the owner's words: a pasted web address is named and told what to drop (it used
    to be "[0] may hold only letters, digits, hyphens and dots")."""
    app = app_for(tmp_path)

    async def ready(pilot):
        await settle(pilot, lambda: pilot.app.facts is not None)
        pilot.app.start_questions()
        await settle(pilot, lambda: isinstance(pilot.app.screen, QuestionsScreen))
        pilot.app.after_section(pilot.app.screen.section)
        await settle(pilot, lambda: getattr(pilot.app.screen, "section", "") == "site")
        field = pilot.app.screen.query_one("#f-site-domains")
        field.focus()
        field.value = "https://pi.example.com/blog, www.pi.example.com"
        await settle(pilot, lambda: pilot.app.screen.query_one("#row-site-domains").has_class("invalid"))
        steady_cursors(pilot)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


@pytest.mark.parametrize("tab", ["plan", "files"])
def test_review(snap_compare, tmp_path, tab):
    app = app_for(tmp_path, statuses={"apt-update": StepStatus.ALREADY_DONE, "verify": StepStatus.ALWAYS})

    async def ready(pilot):
        await settle(pilot, lambda: pilot.app.facts is not None)
        pilot.app.review(h.sample_answers())
        await settle(pilot, lambda: isinstance(pilot.app.screen, ReviewScreen) and pilot.app.screen.session)
        if tab == "files":
            await pilot.press("f")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


async def _run_until(pilot, condition):
    await settle(pilot, lambda: pilot.app.facts is not None)
    pilot.app.review(h.sample_answers())
    await settle(pilot, lambda: isinstance(pilot.app.screen, ReviewScreen) and pilot.app.screen.session)
    await pilot.press("i")
    await settle(pilot, condition)


def test_run_failed(snap_compare, tmp_path):
    app = app_for(tmp_path, fail_at="nginx-install", statuses={"apt-update": StepStatus.ALREADY_DONE})

    async def ready(pilot):
        await _run_until(pilot, lambda: isinstance(pilot.app.screen, RunScreen) and pilot.app.screen.failed)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_run_failed_no_color(snap_compare, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(tmp_path, fail_at="app-program")

    async def ready(pilot):
        await _run_until(pilot, lambda: isinstance(pilot.app.screen, RunScreen) and pilot.app.screen.failed)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_quit_confirmation(snap_compare, tmp_path):
    app = app_for(tmp_path, fail_at="nginx-install")

    async def ready(pilot):
        await _run_until(pilot, lambda: isinstance(pilot.app.screen, RunScreen) and pilot.app.screen.failed)
        pilot.app.push_screen(ConfirmScreen(
            "A step is running. Quit now?",
            "The running command is stopped. Run piserver-wizard again later: it resumes at this step.",
            yes="Stop and quit", no="Keep running"))
        await settle(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_finish(snap_compare, tmp_path):
    app = app_for(tmp_path, statuses={"apt-update": StepStatus.ALREADY_DONE})

    async def ready(pilot):
        await _run_until(pilot, lambda: pilot.app.screen.__class__.__name__ == "FinishScreen")

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
