"""Runs that resume and re-runs that change only what changed, on this machine, with pebble.

One app ("rerun") goes through: a first run killed with SIGKILL while dpkg installs a package, the resume,
a same-answers re-run, domains a -> b + www.b, one name removed, workers changed, HTTPS off and on again.
Each test first brings the app to the answers it starts from (``Scenario.settle``): in the file's order that
is a no-op re-run of a second or so; alone or in another order, it is the install the test needs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from wizard import certs

from conftest import ensure_user, forget_app, wizard_env
from site_checks import http_get, https_get, pebble_root, tree_fingerprint

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

TEMPLATE = """\
[site]
domains = {domains}
[app]
name = "rerun"
user = "pi"
directory = "/home/pi/rerun"
workers = {workers}
bind = "127.0.0.1:4700"
[https]
enabled = {https}
email = "admin@example.com"
agree_tos = true
acme_server = "{server}"
"""
WATCHED = ["/etc/nginx", "/etc/supervisor", "/etc/letsencrypt", "/home/pi/rerun", "/etc/cron.d",
           "/etc/piserver-wizard"]
SITE = Path("/etc/nginx/sites-available/rerun")


class Scenario:
    def __init__(self, wizard_bin: str, acme: dict[str, str], folder: Path) -> None:
        self.wizard_bin, self.acme, self.folder = wizard_bin, acme, folder
        self.answers = folder / "answers.toml"
        self.root: Path | None = None
        self.written: tuple[list[str], int, bool] = (["alpha.test"], 2, True)

    def settle(self, domains: list[str] | None = None, workers: int | None = None,
               https: bool | None = None) -> None:
        """Installed with these answers (the last written where not given) before the test's own change."""
        last = self.written
        self.write(last[0] if domains is None else domains, last[1] if workers is None else workers,
                   last[2] if https is None else https)
        done = self.run()
        assert done.returncode == 0, done.stdout + done.stderr

    def write(self, domains: list[str], workers: int = 2, https: bool = True) -> None:
        self.written = (list(domains), workers, https)
        self.answers.write_text(TEMPLATE.format(domains=repr(domains).replace("'", '"'), workers=workers,
                                                https=str(https).lower(), server=self.acme["ACME_DIRECTORY_URL"]))

    def run(self) -> subprocess.CompletedProcess:
        done = subprocess.run([self.wizard_bin, "--answers", str(self.answers)], capture_output=True, text=True,
                              env=wizard_env(self.acme), timeout=1800, stdin=subprocess.DEVNULL)
        print(done.stdout, done.stderr)
        return done

    def pebble_root(self) -> Path:
        self.root = pebble_root(self.acme, self.folder / "root.pem")
        return self.root


def pid_of(pattern: str) -> str:
    return subprocess.run(["pgrep", "-o", "-f", pattern], capture_output=True, text=True).stdout.strip()


def nginx_master() -> str:
    return Path("/run/nginx.pid").read_text().strip()


def cert_file() -> str:
    return os.path.realpath("/etc/letsencrypt/live/rerun/cert.pem")


@pytest.fixture(scope="module")
def scenario(wizard_bin: str, acme: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    ensure_user("pi")
    forget_app("rerun")
    return Scenario(wizard_bin, acme, tmp_path_factory.mktemp("rerun"))


def test_kill_9_while_dpkg_installs_then_resume(scenario: Scenario) -> None:
    """SIGKILL the wizard while dpkg unpacks cron; the next run repairs dpkg and finishes the site."""
    scenario.write(["alpha.test"])
    subprocess.run(["apt-get", "purge", "-y", "-q", "cron"], check=True, capture_output=True, timeout=600,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    child = pexpect.spawn(scenario.wizard_bin, ["--verbose", "--answers", str(scenario.answers)],
                          env=wizard_env(scenario.acme), encoding="utf-8", timeout=900, dimensions=(24, 160))
    child.logfile_read = sys.stdout
    child.expect(r"Unpacking cron ")
    os.kill(child.pid, signal.SIGKILL)
    child.close(force=True)
    for _ in range(600):  # let the orphaned apt/dpkg notice their terminal went away
        if not subprocess.run(["pgrep", "-x", "dpkg|apt-get"], capture_output=True).stdout:
            break
        time.sleep(0.1)
    audit = subprocess.run(["dpkg", "--audit"], capture_output=True, text=True).stdout
    journal = list(Path("/var/lib/dpkg/updates").iterdir())
    print(f"\nafter kill -9: dpkg --audit said {audit.strip()!r}, {len(journal)} journal file(s)")
    resumed = scenario.run()
    assert resumed.returncode == 0
    if audit.strip() or journal:
        assert "Repair an interrupted dpkg ... done" in resumed.stdout
    assert subprocess.run(["dpkg", "--audit"], capture_output=True, text=True).stdout == ""
    assert "ii" in subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "cron"],
                                  capture_output=True, text=True).stdout
    status, text, _ = https_get("alpha.test", scenario.pebble_root())
    assert status == 200 and "Hello, World!" in text


def test_an_interrupted_dpkg_is_repaired_before_apt(scenario: Scenario, tmp_path: Path) -> None:
    """The state a dpkg killed mid-install leaves, made deterministic: a package unpacked, not configured."""
    scenario.write(*scenario.written)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "purge", "-y", "-q", "cron"], check=True, capture_output=True, timeout=600, env=env)
    subprocess.run(["apt-get", "download", "-q", "cron"], check=True, capture_output=True, timeout=600,
                   cwd=tmp_path)
    deb = next(tmp_path.glob("cron_*.deb"))
    subprocess.run(["dpkg", "--unpack", str(deb)], check=True, capture_output=True, timeout=600, env=env)
    assert "cron" in subprocess.run(["dpkg", "--audit"], capture_output=True, text=True).stdout
    resumed = scenario.run()
    assert resumed.returncode == 0
    assert "Repair an interrupted dpkg ... done" in resumed.stdout
    assert subprocess.run(["dpkg", "--audit"], capture_output=True, text=True).stdout == ""


def test_same_answers_is_a_quick_no_op(scenario: Scenario) -> None:
    scenario.settle()
    before = tree_fingerprint(*WATCHED)
    pids = (nginx_master(), pid_of("/home/pi/rerun/venv/bin/gunicorn"), cert_file())
    started = time.monotonic()
    again = scenario.run()
    print(f"no-op re-run took {time.monotonic() - started:.2f} s")
    assert again.returncode == 0 and "Nothing to do" in again.stdout
    assert tree_fingerprint(*WATCHED) == before
    assert (nginx_master(), pid_of("/home/pi/rerun/venv/bin/gunicorn"), cert_file()) == pids


def test_domains_replaced_then_one_removed(scenario: Scenario) -> None:
    scenario.settle(["alpha.test"], workers=2, https=True)
    scenario.write(["beta.test", "www.beta.test"])
    changed = scenario.run()
    assert changed.returncode == 0
    assert "domains: +beta.test +www.beta.test \u2212alpha.test" in changed.stdout
    site = SITE.read_text()
    assert "server_name beta.test www.beta.test;" in site and "alpha.test" not in site
    info = certs.read("rerun")
    assert info is not None and info.names == {"beta.test", "www.beta.test"}
    assert not Path("/etc/letsencrypt/live/rerun-0001").exists()  # updated in place, not a second cert
    renewal = Path("/etc/letsencrypt/renewal/rerun.conf").read_text()
    assert "beta.test" in renewal and "alpha.test" not in renewal
    root = scenario.pebble_root()
    for name in ("beta.test", "www.beta.test"):
        status, text, _ = https_get(name, root)
        assert status == 200 and "Hello, World!" in text

    scenario.write(["beta.test"])
    trimmed = scenario.run()
    assert trimmed.returncode == 0 and "domains: \u2212www.beta.test" in trimmed.stdout
    info = certs.read("rerun")
    assert info is not None and info.names == {"beta.test"}
    assert "www.beta.test" not in SITE.read_text()
    assert "www.beta.test" not in Path("/etc/letsencrypt/renewal/rerun.conf").read_text()


def rerun_workers() -> set[str]:
    arbiter = pid_of("/home/pi/rerun/venv/bin/gunicorn")
    return set(subprocess.run(["pgrep", "-P", arbiter], capture_output=True, text=True).stdout.split())


def test_workers_change_reloads_only_the_app(scenario: Scenario) -> None:
    """A graceful reload (HUP): the arbiter stays, every worker is new, nothing else is touched."""
    scenario.settle(["beta.test"], workers=2, https=True)
    others = {name: pid for name in ("e2e", "secure", "plain")
              if (pid := pid_of(f"/home/pi/{name}/venv/bin/gunicorn"))}
    nginx_before, app_before, cert_before = nginx_master(), pid_of("/home/pi/rerun/venv/bin/gunicorn"), cert_file()
    workers_before = rerun_workers()
    scenario.write(["beta.test"], workers=3)
    changed = scenario.run()
    assert changed.returncode == 0 and "app.workers: 2 -> 3" in changed.stdout
    assert pid_of("/home/pi/rerun/venv/bin/gunicorn") == app_before
    assert len(rerun_workers()) == 3 and not rerun_workers() & workers_before
    assert nginx_master() == nginx_before
    assert cert_file() == cert_before  # no certificate requested
    assert {name: pid_of(f"/home/pi/{name}/venv/bin/gunicorn") for name in others} == others
    assert "--workers" not in Path("/etc/supervisor/conf.d/rerun.conf").read_text()
    assert "\nworkers = 3\n" in Path("/etc/piserver-wizard/rerun/gunicorn.conf.py").read_text()
    out = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    assert len([line for line in out.splitlines() if line.startswith("/home/pi/rerun/venv/bin/python3")]) == 4


def test_https_off_then_on(scenario: Scenario) -> None:
    scenario.settle(["beta.test"], workers=3, https=True)  # a certificate for beta.test to keep
    scenario.write(["beta.test"], workers=3, https=False)
    off = scenario.run()
    assert off.returncode == 0
    site = SITE.read_text()
    assert "listen 443" not in site and "return 301" not in site
    status, _, body = http_get("beta.test")
    assert status == 200 and "Hello, World!" in body

    scenario.write(["beta.test"], workers=3, https=True)
    on = scenario.run()
    assert on.returncode == 0
    status, headers, _ = http_get("beta.test")
    assert status == 301 and headers["Location"] == "https://beta.test/"
    status, text, _ = https_get("beta.test", scenario.pebble_root())
    assert status == 200 and "Hello, World!" in text
    assert re.search(r"Get a certificate .* already done", on.stdout)  # the same names: not requested again
