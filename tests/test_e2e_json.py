"""--json for real: an app installed by the console script, then run again, then a change dry-run.

What a fleet tool reads: ``changed`` true on the first run, false on the re-run with nothing to do, and in
a dry run the unified diff of each file it would change (while nothing changes). HTTP only, no apt update:
the certificate path is exercised by test_e2e_install.py, this is about the report. Its own state folder.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import ensure_user, forget_app, wizard_env
from site_checks import http_get

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAME, DOMAIN = "fleetjson", "fleetjson.test"
ANSWERS = f"""\
[system]
update_packages = false
remove_apache = true
[site]
domains = ["{DOMAIN}"]
disable_default_site = true
[app]
name = "{NAME}"
user = "pi"
directory = "/home/pi/{NAME}"
source = "sample"
wsgi = "app:app"
workers = {{workers}}
bind = "127.0.0.1:4710"
packages = ["flask", "gunicorn"]
[https]
enabled = false
"""
SUPERVISOR_CONF = f"/etc/supervisor/conf.d/{NAME}.conf"
GUNICORN_CONF = f"/etc/piserver-wizard/{NAME}/gunicorn.conf.py"  # workers live here (a HUP applies them)


def run_json(wizard_bin: str, answers: Path, state: Path, *extra: str) -> tuple[int, dict, str]:
    env = wizard_env() | {"PISERVER_WIZARD_STATE_DIR": str(state)}
    done = subprocess.run([wizard_bin, "--answers", str(answers), "--json", *extra], capture_output=True,
                          text=True, env=env, timeout=1200, stdin=subprocess.DEVNULL)
    print(done.stderr[-3000:])
    return done.returncode, json.loads(done.stdout), done.stderr


@pytest.fixture(scope="module")
def runs(wizard_bin: str, as_root: None, tmp_path_factory: pytest.TempPathFactory):
    ensure_user("pi")
    forget_app(NAME)
    folder = tmp_path_factory.mktemp("fleetjson")
    answers, state = folder / "answers.toml", folder / "state"
    answers.write_text(ANSWERS.format(workers=2))
    try:
        first = run_json(wizard_bin, answers, state)
        second = run_json(wizard_bin, answers, state)
        before = Path(GUNICORN_CONF).read_text()
        answers.write_text(ANSWERS.format(workers=3))
        dry = run_json(wizard_bin, answers, state, "--dry-run")
        after = Path(GUNICORN_CONF).read_text()
        served = http_get(DOMAIN)
        yield {"first": first, "second": second, "dry": dry, "before": before, "after": after, "served": served}
    finally:
        forget_app(NAME)


def test_the_first_run_says_changed_and_names_the_files(runs: dict) -> None:
    code, document, stderr = runs["first"]
    assert code == 0, document["failed"]
    assert document["ok"] is True and document["changed"] is True and document["failed"] is None
    assert document["urls"] == [f"http://{DOMAIN}/"]
    files = [path for step in document["steps"] for path in step["files"]]
    assert f"/etc/nginx/sites-available/{NAME}" in files and SUPERVISOR_CONF in files
    assert all(step["status"] in ("done", "already done") for step in document["steps"])
    assert "[ 1/" in stderr  # the progress lines went to stderr
    assert runs["served"][0] == 200


def test_the_second_run_says_nothing_changed(runs: dict) -> None:
    code, document, _ = runs["second"]
    assert code == 0 and document["ok"] is True
    assert document["changed"] is False
    assert all(step["files"] == [] for step in document["steps"])
    statuses = {step["id"]: step["status"] for step in document["steps"]}
    assert statuses.pop("verify") == "done"  # the final check runs every time, and changes nothing
    assert set(statuses.values()) == {"already done"}


def test_a_dry_run_of_a_change_shows_the_diff_and_changes_nothing(runs: dict) -> None:
    code, document, _ = runs["dry"]
    assert code == 0 and document["dry_run"] is True
    assert document["changed"] is False and document["would_change"] is True
    diff = document["diffs"][GUNICORN_CONF]
    assert f"--- {GUNICORN_CONF}" in diff and "\n+workers = 3\n" in diff and "\n-workers = 2\n" in diff
    assert SUPERVISOR_CONF not in document["diffs"]  # the program stays: a graceful reload applies it
    assert runs["after"] == runs["before"] and "\nworkers = 2\n" in runs["after"]
