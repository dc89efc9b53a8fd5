"""The whole stack, installed for real on this machine by the installed console script.

nginx, supervisor, gunicorn, Flask and certbot with a certificate from pebble (Let's Encrypt's test CA)
on loopback; then the page is fetched over HTTP and HTTPS as a visitor would.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ensure_user, forget_app, wizard_env
from site_checks import http_get, https_get, https_head, pebble_root, tree_fingerprint

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DOMAINS = ["e2e.test", "www.e2e.test"]
ANSWERS = """\
[system]
update_packages = true
remove_apache = true
[site]
domains = ["e2e.test", "www.e2e.test"]
disable_default_site = true
[app]
name = "e2e"
user = "pi"
directory = "/home/pi/e2e"
source = "sample"
wsgi = "app:app"
workers = 3
bind = "127.0.0.1:4400"
packages = ["flask", "gunicorn"]
[https]
enabled = true
email = ""
agree_tos = true
mode = "certonly"
acme_server = "{server}"
redirect = true
renewal = "auto"
cron_schedule = "30 4 1 * *"
"""
REPO = Path(__file__).resolve().parent.parent
WATCHED = ["/etc/nginx", "/etc/supervisor", "/etc/letsencrypt", "/home/pi/e2e", "/etc/cron.d",
           "/etc/piserver-wizard"]


def run_wizard(wizard_bin: str, answers: Path, acme: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([wizard_bin, "--answers", str(answers), *extra], capture_output=True, text=True,
                          env=wizard_env(acme), timeout=1800, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed(wizard_bin: str, acme: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    ensure_user("pi")
    forget_app("e2e")  # a first run for real, whatever an earlier run of the suite left
    folder = tmp_path_factory.mktemp("e2e")
    answers = folder / "answers.toml"
    answers.write_text(ANSWERS.format(server=acme["ACME_DIRECTORY_URL"]))
    started = time.monotonic()
    first = run_wizard(wizard_bin, answers, acme)
    elapsed = time.monotonic() - started
    print(f"\nfirst run: {elapsed:.1f} s\n{first.stdout}\n{first.stderr}")
    assert first.returncode == 0, first.stdout + first.stderr
    return {"answers": answers, "first": first, "root": pebble_root(acme, folder / "root.pem"),
            "elapsed": elapsed}


def test_http_redirects_to_https(installed: dict) -> None:
    for domain in DOMAINS:
        status, headers, _ = http_get(domain)
        assert status == 301
        assert headers["Location"] == f"https://{domain}/"


def test_https_serves_the_app_with_a_pebble_certificate(installed: dict) -> None:
    for domain in DOMAINS:
        status, text, cert = https_get(domain, installed["root"])
        assert status == 200
        assert "Hello, World!" in text
        names = {value for kind, value in cert["subjectAltName"] if kind == "DNS"}
        assert names == set(DOMAINS)
        assert "Server: nginx\r\n" in text  # server_tokens off: no version


def test_static_files_are_served_by_nginx(installed: dict) -> None:
    status, text, _ = https_get(DOMAINS[0], installed["root"], "/static/style.css")
    assert status == 200 and "font-family" in text


def test_gunicorn_runs_as_the_app_user_on_loopback(installed: dict) -> None:
    out = subprocess.run(["ps", "-ww", "-eo", "user:20,args"], capture_output=True, text=True, check=True).stdout
    lines = [line for line in out.splitlines() if "gunicorn" in line and "/home/pi/e2e/venv" in line]
    assert len(lines) == 1 + 3  # the arbiter and three workers
    assert all(line.split()[0] == "pi" for line in lines)
    assert all("--bind 127.0.0.1:4400" in line for line in lines)
    status = subprocess.run(["supervisorctl", "status", "e2e"], capture_output=True, text=True).stdout
    assert "RUNNING" in status


def test_secret_key_is_private_and_reaches_the_app(installed: dict) -> None:
    secret = Path("/home/pi/e2e/.secret_key")
    st = secret.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == int(
        subprocess.run(["id", "-u", "pi"], capture_output=True, text=True).stdout)
    key = secret.read_text().strip()
    assert len(key) == 64
    # gunicorn reads its config as the app user and exports raw_env to the app (os.environ, not exec's env).
    read = subprocess.run(
        ["runuser", "-u", "pi", "--", "/home/pi/e2e/venv/bin/python", "-c",
         "import runpy; print(runpy.run_path('/etc/piserver-wizard/e2e/gunicorn.conf.py')['raw_env'])"],
        capture_output=True, text=True, check=True).stdout
    assert read.strip() == repr([f"SECRET_KEY={key}"])
    nobody = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(secret)], capture_output=True)
    assert nobody.returncode != 0
    stdout = installed["first"].stdout
    log_path = re.search(r"full log: (\S+)", stdout).group(1)  # type: ignore[union-attr]
    for path in [Path(log_path), Path("/var/lib/piserver-wizard/state.json"),
                 Path("/var/lib/piserver-wizard/answers.toml"), Path("/etc/supervisor/conf.d/e2e.conf")]:
        assert key not in path.read_text(), path
    assert key not in stdout


def test_state_and_log_are_private(installed: dict) -> None:
    log_path = re.search(r"full log: (\S+)", installed["first"].stdout).group(1)  # type: ignore[union-attr]
    for path in (Path(log_path), Path("/var/lib/piserver-wizard/state.json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_one_renewal_job(installed: dict) -> None:
    jobs = [p for p in Path("/etc/cron.d").iterdir() if "certbot" in p.read_text() and "renew" in p.read_text()
            and "." not in p.name]
    systemd = Path("/run/systemd/system").is_dir()
    if systemd:
        assert jobs == []
    else:
        assert [p.name for p in jobs] == ["piserver-wizard-certbot"]
        assert "30 4 1 * * root certbot renew --quiet" in jobs[0].read_text()
    assert os.access("/etc/letsencrypt/renewal-hooks/deploy/piserver-wizard-reload-nginx", os.X_OK)


def test_same_answers_again_changes_nothing(installed: dict, wizard_bin: str, acme: dict[str, str]) -> None:
    before = tree_fingerprint(*WATCHED)
    started = time.monotonic()
    again = run_wizard(wizard_bin, installed["answers"], acme)
    elapsed = time.monotonic() - started
    print(f"\nno-op re-run: {elapsed:.2f} s against a first run of {installed['elapsed']:.1f} s")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to do" in again.stdout
    assert tree_fingerprint(*WATCHED) == before


def test_dry_run_changes_nothing(installed: dict, wizard_bin: str, acme: dict[str, str]) -> None:
    before = tree_fingerprint(*WATCHED, "/var/lib/piserver-wizard")
    dry = run_wizard(wizard_bin, installed["answers"], acme, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "already done" in dry.stdout
    assert tree_fingerprint(*WATCHED, "/var/lib/piserver-wizard") == before


def test_the_app_sees_https_and_the_visitors_address(installed: dict) -> None:
    # From 127.0.0.7, so the visitor is not nginx's own 127.0.0.1; a forged X-Forwarded-For is not believed.
    _, _, body = https_head(DOMAINS[0], installed["root"], "/", "--interface", "127.0.0.7",
                            "-H", "X-Forwarded-For: 203.0.113.9", "-H", "X-Forwarded-Proto: http")
    assert "<code>https://e2e.test/</code> from 127.0.0.7." in body, body


def test_site_benchmarks_smoke_run(installed: dict) -> None:
    """bench/site.py works against the installed site; its figures never fail a test."""
    done = subprocess.run([sys.executable, str(REPO / "bench" / "site.py"), "--app", "e2e", "--smoke"],
                          capture_output=True, text=True, timeout=600)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("/ via nginx (HTTPS) / / from gunicorn directly", "resumed sessions / new sessions",
                   "/ gzip / / identity", "gthread, 2 workers x 4 threads / sync, 3 workers"):
        assert figure in done.stdout, done.stdout
