"""The TUI asks for the DNS provider and its token (masked), writes the credentials file root-only, and the
token reaches neither the screen, nor the saved answers, nor the plan's diff."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from test_tui_flow import SIZE, app_for, wait_for
from textual.widgets import Input, Select

from screens.questions import QuestionsScreen
from screens.review import ReviewScreen
from wizard import dns01
from wizard.answers import Answers, HttpsAnswers, SiteAnswers, dumps

import tui_helpers as h

TOKEN = "tok-3f9a1c0e-never-shown-anywhere"


@pytest.fixture
def credentials_dir(monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("the credentials file is root's: needs root")
    folder = Path(tempfile.mkdtemp(prefix="piserver-wizard-tui-", dir="/run"))
    folder.chmod(0o700)
    monkeypatch.setattr(dns01, "CREDENTIALS_DIR", str(folder / "dns"))
    yield folder / "dns"
    shutil.rmtree(folder)


def _export(app) -> str:
    return app.export_screenshot()


async def test_the_token_goes_to_a_root_only_file_and_nowhere_else(tmp_path, credentials_dir):
    app = app_for(tmp_path)
    base = h.sample_answers()
    answers = Answers(system=base.system, site=SiteAnswers(domains=["pi.example.com", "*.pi.example.com"]),
                      app=base.app, https=HttpsAnswers(email="admin@example.com", agree_tos=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        app.start_questions(answers)
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionsScreen))
        app.after_section("site")
        app.after_section("app")
        await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "https")
        assert len(app.screen.query("#f-https-dns_provider")) == 0  # http-01: no DNS questions
        app.screen.query_one("#f-https-challenge", Select).value = "dns-01"
        await wait_for(pilot, lambda: len(app.screen.query("#f-https-dns_provider")) == 1, what="DNS questions")
        provider = app.screen.query_one("#f-https-dns_provider", Input)
        provider.value = "cloudflare"
        await wait_for(pilot, lambda: len(app.screen.query("#dnsv-dns_cloudflare_api_token")) == 1, what="token")
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "f-https-dns_provider",
                       what="the focus kept on the provider after the form grew")
        token = app.screen.query_one("#dnsv-dns_cloudflare_api_token", Input)
        assert token.password  # masked
        token.focus()
        await pilot.press(*TOKEN)
        await pilot.pause(0.2)
        shown = _export(app)
        assert TOKEN not in shown and TOKEN[:8] not in shown
        assert app.draft.errors("https") == {}, (app.draft.dns_values, token.value)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="the review")
        path = credentials_dir / "cloudflare.ini"
        info = path.stat()
        assert info.st_uid == 0 and info.st_mode & 0o777 == 0o600
        assert f"dns_cloudflare_api_token = {TOKEN}" in path.read_text()
        assert app.draft.dns_values == {}
        final = app.draft.answers()
        assert final.https.dns_credentials == str(path)
        assert TOKEN not in dumps(final)
        assert TOKEN not in _export(app)


def _blocked_port80_steps(tmp: Path) -> list:
    """A certificate step that fails the way wizard.diagnose reports a port 80 nobody reaches."""
    from wizard.diagnose import SWITCH_MARK
    from wizard.plan import Step

    said = f"Error: the certificate authority could not connect to port 80 of pi.example.com. {SWITCH_MARK}"
    return [Step("certificate", "Get a certificate for pi.example.com",
                 commands=[h.sh(f"echo '{said}'; exit 1")], is_done=h.never_done)]


async def test_the_failure_panel_offers_dns01_or_the_local_ca(tmp_path):
    from screens.run import RunScreen

    app = app_for(tmp_path, steps=_blocked_port80_steps)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        app.review(h.sample_answers())
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.session is not None)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        await wait_for(pilot, lambda: run.failed == "certificate",
                       what=f"the certificate step to fail ({ {k: v.status for k, v in run.views.items()} })")
        switch = app.screen.query_one("#switch_https")
        assert switch.display
        await app.screen.run_action("switch_https")
        await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "https", what="the HTTPS questions")
        assert app.screen.query_one("#f-https-challenge", Select).value == "http-01"
        assert app.draft.raw["site.domains"] == "pi.example.com"
