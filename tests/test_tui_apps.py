"""The TUI's view of installed apps: the welcome list with health, an app's status and doctor findings,
restart, logs followed in a pane, change and remove (plan shown, then confirmed). At 80x24.

The manager is scripted (fixed statuses and findings) so the screens do not depend on this machine; the
verbs behind the real one are tested for real in tests/test_e2e_verbs.py. The logs pane reads real files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from textual.widgets import Log, OptionList, Static

from screens.app import make_app
from screens.applogs import AppLogsScreen
from screens.appview import AppScreen
from screens.confirm import ConfirmScreen
from screens.questions import QuestionsScreen
from screens.welcome import WelcomeScreen
from wizard.state import State
from wizard.verbs.findings import Diagnosis
from wizard.verbs.logs import Source
from wizard.verbs.status import AppStatus

import tui_helpers as h

SIZE = (80, 24)
FIXED = Path("/tmp/piserver-wizard-snapshot-apps")


def _status(name: str, domain: str, problems: list[str], state: str = "RUNNING") -> AppStatus:
    return AppStatus(name, problems, {
        "state": state, "pid": 4242 if state == "RUNNING" else None, "uptime_seconds": 3725 if state == "RUNNING" else None,
        "urls": [{"url": f"http://{domain}/", "ok": True, "detail": "redirects"},
                 {"url": f"https://{domain}/", "ok": not problems, "detail": "answers 200"}],
        "certificate": {"names": [domain], "issuer": "R11", "not_after": "2027-02-01T10:00:00Z", "days_left": 61,
                        "server": "https://acme-v02.api.letsencrypt.org/directory"},
        "renewal": {"method": "timer", "in_place": True, "next_run": "Wed 2026-12-02 04:12:00 UTC",
                    "detail": "certbot.timer is active, next run Wed 2026-12-02 04:12:00 UTC"},
        "last_run": {"result": "done", "finished": "2026-12-01T21:34:23Z", "stopped_at": None},
        "answers_file": f"/var/lib/piserver-wizard/apps/{name}.toml"})


@dataclass
class ScriptedManager:
    folder: Path
    calls: list[str] = field(default_factory=list)

    def statuses(self) -> list[AppStatus]:
        return [_status("blog", "blog.example.org", []),
                _status("shop", "shop.example.org", ["supervisor: shop is STOPPED"], "STOPPED")]

    def findings(self, name: str) -> list[Diagnosis]:
        return [Diagnosis("ok", "nginx", "nginx -t: the configuration is valid"),
                Diagnosis("error", "program", f"supervisor: {name} is STOPPED", f"piserver-wizard restart {name}", name)]

    def answers(self, name: str):
        answers = h.sample_answers()
        answers.app.name = name
        return answers

    def restart(self, name: str) -> tuple[bool, str]:
        self.calls.append(f"restart {name}")
        return True, f"{name}: reloaded gracefully (arbiter 4242; workers 4243 -> 4250)"

    def removal_plan(self, name: str) -> str:
        return f"Removing {name}:\n  - Stop {name} under supervisor\n  - Remove the nginx site {name}\n"

    def remove(self, name: str) -> tuple[bool, str]:
        self.calls.append(f"remove {name}")
        return True, f"{name} is removed"

    def log_sources(self, name: str) -> list[Source]:
        return [Source("app", self.folder / "out.log"), Source("nginx", self.folder / "access.log")]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("PISERVER_WIZARD_STATE_DIR", str(tmp_path / "state"))
    for name in ("NO_COLOR", "SSH_CONNECTION", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    FIXED.mkdir(parents=True, exist_ok=True)
    (FIXED / "out.log").write_text('127.0.0.1 - - [01/Dec/2026:10:00:02 +0000] "GET /two HTTP/1.0" 200 5\n')
    (FIXED / "access.log").write_text('127.0.0.1 - - [01/Dec/2026:10:00:01 +0000] "GET /one HTTP/1.1" 200 5\n')


def app_for(tmp: Path, manager: ScriptedManager | None = None):
    return make_app(facts=h.fixed_facts(), state=State(tmp / "state.json"),
                    session_factory=h.scripted_factory(tmp), runner_factory=h.NullRunner,
                    log_path=lambda: FIXED / "run.log", clock=lambda: 0.0, saved_answers=tmp / "none.toml",
                    manager=manager or ScriptedManager(FIXED))


async def wait_for(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if condition():
            await pilot.pause(0.1)
            return
    raise AssertionError(f"timed out; screen is {pilot.app.screen!r}")


def apps_listed(pilot) -> bool:
    screen = pilot.app.screen
    return isinstance(screen, WelcomeScreen) and screen.query_one("#apps", OptionList).option_count == 2


async def open_app(pilot, index: int = 1) -> AppScreen:
    await wait_for(pilot, lambda: apps_listed(pilot))
    apps = pilot.app.screen.query_one("#apps", OptionList)
    apps.focus()
    apps.highlighted = index
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AppScreen)
                   and "STOPPED" in str(pilot.app.screen.query_one("#app-findings", Static).render()))
    return pilot.app.screen


async def test_welcome_lists_the_apps_with_their_health(tmp_path):
    async with app_for(tmp_path).run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: apps_listed(pilot))
        apps = pilot.app.screen.query_one("#apps", OptionList)
        lines = [str(apps.get_option_at_index(i).prompt) for i in range(2)]
        assert lines[0].startswith("blog") and "ok" in lines[0] and "https://blog.example.org/" in lines[0]
        assert lines[1].startswith("shop") and "PROBLEM" in lines[1] and "STOPPED" in lines[1]
        assert pilot.app.screen.query_one("#add_app").display
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, QuestionsScreen))


async def test_an_app_shows_status_and_findings_and_restarts(tmp_path):
    manager = ScriptedManager(FIXED)
    async with app_for(tmp_path, manager).run_test(size=SIZE) as pilot:
        screen = await open_app(pilot)
        assert "shop: PROBLEM" in str(screen.query_one("#app-status", Static).render())
        assert "fix: piserver-wizard restart shop" in str(screen.query_one("#app-findings", Static).render())
        await pilot.press("r")
        await wait_for(pilot, lambda: "reloaded gracefully" in "\n".join(screen.query_one("#app-output", Log).lines))
        assert manager.calls == ["restart shop"]


async def test_remove_shows_the_plan_and_needs_a_yes(tmp_path):
    manager = ScriptedManager(FIXED)
    async with app_for(tmp_path, manager).run_test(size=SIZE) as pilot:
        screen = await open_app(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        assert "Remove the nginx site shop" in str(pilot.app.screen.query_one("#confirm-detail", Static).render())
        await pilot.press("n")
        await wait_for(pilot, lambda: pilot.app.screen is screen)
        assert manager.calls == []
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Removed." in "\n".join(screen.query_one("#app-output", Log).lines))
        assert manager.calls == ["remove shop"]


async def test_logs_are_merged_and_followed(tmp_path):
    async with app_for(tmp_path).run_test(size=SIZE) as pilot:
        await open_app(pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, AppLogsScreen))
        view = pilot.app.screen.query_one("#log-view", Log)
        await wait_for(pilot, lambda: len(view.lines) == 2)
        assert ["GET /one" in view.lines[0], "GET /two" in view.lines[1]] == [True, True]
        with (FIXED / "access.log").open("a") as handle:
            handle.write('127.0.0.1 - - [01/Dec/2026:10:00:03 +0000] "GET /three HTTP/1.1" 200 5\n')
        await wait_for(pilot, lambda: len(view.lines) == 3)
        assert "GET /three" in view.lines[2]


async def test_change_opens_the_questions_with_the_apps_answers(tmp_path):
    async with app_for(tmp_path).run_test(size=SIZE) as pilot:
        await open_app(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, QuestionsScreen))
        assert pilot.app.draft is not None and pilot.app.draft.answers().app.name == "shop"


def test_snapshot_welcome_with_apps(snap_compare, tmp_path):
    async def ready(pilot):
        await wait_for(pilot, lambda: apps_listed(pilot))

    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=ready)


def test_snapshot_app_screen(snap_compare, tmp_path):
    async def ready(pilot):
        await open_app(pilot)

    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=ready)


def test_snapshot_remove_confirmation(snap_compare, tmp_path):
    async def ready(pilot):
        await open_app(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))

    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=ready)
