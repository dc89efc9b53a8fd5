"""The sample is the owner's once written: an edited app.py survives a re-run that changes the domains.

Also the dedicated app user end to end: ``create_user = true`` makes a system user with no login shell,
and the app folder in /srv is handed to it.
"""

from __future__ import annotations

import pwd
import subprocess
from pathlib import Path

import pytest

from conftest import forget_app, wizard_env
from site_checks import http_get

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAME = "keepme"
FOLDER = Path(f"/srv/{NAME}")
ANSWERS = """\
[site]
domains = {domains}
[app]
name = "keepme"
user = "keepme"
create_user = true
directory = "/srv/keepme"
bind = "127.0.0.1:4820"
workers = 1
[https]
enabled = false
"""


def run(wizard_bin: str, answers: Path, domains: list[str]) -> subprocess.CompletedProcess:
    answers.write_text(ANSWERS.format(domains=str(domains).replace("'", '"')))
    done = subprocess.run([wizard_bin, "--answers", str(answers)], capture_output=True, text=True,
                          env=wizard_env(), timeout=900, stdin=subprocess.DEVNULL)
    print(done.stdout, done.stderr)
    return done


def test_an_edited_sample_is_kept_and_served(as_root: None, wizard_bin: str, tmp_path: Path) -> None:
    forget_app(NAME, folder=str(FOLDER))
    try:
        first = run(wizard_bin, tmp_path / "answers.toml", ["keep.pi.test"])
        assert first.returncode == 0, first.stdout
        user = pwd.getpwnam(NAME)
        assert user.pw_shell == "/usr/sbin/nologin" and user.pw_uid < 1000  # a system user, no login
        assert FOLDER.stat().st_uid == user.pw_uid
        assert "Hello, World!" in http_get("keep.pi.test")[2]
        page = FOLDER / "app.py"
        edited = page.read_text().replace("<h1>Hello, World!</h1>", "<h1>My own page</h1>")
        subprocess.run(["runuser", "-u", NAME, "--", "tee", str(page)], input=edited, text=True, check=True,
                       capture_output=True)
        again = run(wizard_bin, tmp_path / "answers.toml", ["keep.pi.test", "www.keep.pi.test"])
        assert again.returncode == 0, again.stdout
        log = again.stdout.split("full log: ", 1)[1].split()[0]
        assert f"kept {page}" in Path(log).read_text()
        assert page.read_text() == edited
        subprocess.run(["supervisorctl", "restart", NAME], check=True, capture_output=True, timeout=60)
        third = run(wizard_bin, tmp_path / "answers.toml", ["keep.pi.test", "www.keep.pi.test"])
        assert third.returncode == 0, third.stdout  # the final check no longer expects the sample's words
        assert "My own page" in http_get("www.keep.pi.test")[2]
    finally:
        forget_app(NAME, folder=str(FOLDER))
