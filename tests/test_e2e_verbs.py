"""The verbs on a machine with two apps installed for real (nginx, supervisor, gunicorn, pebble's certs).

The two apps live in a state folder of their own (PISERVER_WIZARD_STATE_DIR), so apps other tests leave
on this shared machine are not "managed" here and cannot make a health check fail or pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ensure_user, forget_app, wizard_env
from site_checks import http_get

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

APPS = {"verbsa": ("va.test", 4610), "verbsb": ("vb.test", 4620)}
ANSWERS = """\
[system]
update_packages = true
remove_apache = true
[site]
domains = ["{domain}"]
disable_default_site = true
[app]
name = "{name}"
user = "pi"
directory = "/home/pi/{name}"
source = "sample"
wsgi = "app:app"
workers = {workers}
bind = "127.0.0.1:{port}"
packages = ["flask", "gunicorn"]
[https]
enabled = true
email = "admin@example.com"
agree_tos = true
mode = "certonly"
acme_server = "{server}"
redirect = true
renewal = "auto"
cron_schedule = "30 4 1 * *"
"""


class Machine:
    """The wizard's console script with this module's own state folder."""

    def __init__(self, wizard_bin: str, acme: dict[str, str], folder: Path) -> None:
        self.bin, self.acme, self.folder = wizard_bin, acme, folder
        self.env = wizard_env(acme) | {"PISERVER_WIZARD_STATE_DIR": str(folder / "state")}

    def answers(self, name: str, workers: int = 2) -> Path:
        domain, port = APPS[name]
        path = self.folder / f"{name}.toml"
        path.write_text(ANSWERS.format(name=name, domain=domain, port=port, workers=workers,
                                       server=self.acme["ACME_DIRECTORY_URL"]))
        return path

    def wizard(self, *argv: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        return subprocess.run([self.bin, *argv], capture_output=True, text=True, env=self.env,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def install(self, name: str, workers: int = 2) -> None:
        done = self.wizard("--answers", str(self.answers(name, workers)))
        assert done.returncode == 0, done.stdout + done.stderr

    def status(self, *argv: str) -> tuple[int, dict]:
        done = self.wizard("status", "--json", *argv, timeout=300)
        return done.returncode, json.loads(done.stdout)


def main_pid(name: str) -> int:
    out = subprocess.run(["supervisorctl", "pid", name], capture_output=True, text=True, timeout=60).stdout
    return int(out.strip())


def wait_running(name: str) -> None:
    for _ in range(120):
        out = subprocess.run(["supervisorctl", "status", name], capture_output=True, text=True).stdout
        if "RUNNING" in out and http_get(APPS[name][0])[0] == 301:
            return
        time.sleep(0.5)
    pytest.fail(f"{name} did not come back: {out}")


@pytest.fixture(scope="module")
def machine(wizard_bin: str, acme: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    ensure_user("pi")
    for name in APPS:
        forget_app(name)
    machine = Machine(wizard_bin, acme, tmp_path_factory.mktemp("verbs"))
    for name in APPS:
        machine.install(name)
    yield machine
    for name in APPS:
        forget_app(name)


def test_status_names_both_apps_healthy_with_days_left(machine: Machine) -> None:
    code, report = machine.status()
    assert code == 0, json.dumps(report, indent=1)
    assert report["healthy"] is True
    by_name = {app["name"]: app for app in report["apps"]}
    assert sorted(by_name) == sorted(APPS)
    for name, (domain, _port) in APPS.items():
        app = by_name[name]
        assert app["healthy"] and app["state"] == "RUNNING" and app["pid"] == main_pid(name)
        assert [u["url"] for u in app["urls"]] == [f"http://{domain}/", f"https://{domain}/"]
        assert all(u["ok"] for u in app["urls"])
        assert app["certificate"]["names"] == [domain]
        assert 0 < app["certificate"]["days_left"] <= 1826 and app["certificate"]["not_after"].endswith("Z")
        assert app["last_run"]["result"] == "done"
        assert app["renewal"]["in_place"] is True


def test_status_of_one_app_and_its_text_view(machine: Machine) -> None:
    done = machine.wizard("status", "verbsb", timeout=300)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("verbsb: ok") and "verbsa" not in done.stdout
    assert "https://vb.test/" in done.stdout and "days left" in done.stdout
    assert machine.wizard("status", "nosuchapp").returncode == 2


def test_a_stopped_app_fails_status_naming_it(machine: Machine) -> None:
    subprocess.run(["supervisorctl", "stop", "verbsa"], check=True, capture_output=True, timeout=60)
    try:
        code, report = machine.status()
        by_name = {app["name"]: app for app in report["apps"]}
        assert code == 1 and report["healthy"] is False
        assert by_name["verbsa"]["healthy"] is False and by_name["verbsa"]["state"] == "STOPPED"
        assert any("verbsa is STOPPED" in p for p in by_name["verbsa"]["problems"])
        assert by_name["verbsb"]["healthy"] is True
        assert machine.status("verbsb")[0] == 0
    finally:
        subprocess.run(["supervisorctl", "start", "verbsa"], capture_output=True, timeout=60)
        wait_running("verbsa")


def test_logs_show_a_request_just_made(machine: Machine, acme: dict[str, str]) -> None:
    from site_checks import https_get, pebble_root

    marker = f"/logs-marker-{time.time_ns()}"
    https_get("vb.test", pebble_root(acme, machine.folder / "root.pem"), marker)  # a 404 from Flask
    done = machine.wizard("logs", "verbsb", "-n", "20", timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if marker in line]
    assert [line.split()[0] for line in lines] == ["app", "nginx"], done.stdout  # gunicorn answers first
    assert all(" 404 " in line for line in lines)


def workers(name: str) -> set[int]:
    from wizard.verbs.processes import children

    return children(main_pid(name))


def test_restart_replaces_every_worker_and_answers(machine: Machine) -> None:
    arbiter, before, other = main_pid("verbsa"), workers("verbsa"), main_pid("verbsb")
    done = machine.wizard("restart", "verbsa", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reloaded gracefully" in done.stdout and "ok   https://va.test/" in done.stdout
    after = workers("verbsa")
    assert main_pid("verbsa") == arbiter and after and not after & before
    assert main_pid("verbsb") == other
    assert http_get("va.test")[0] == 301


def test_hard_restart_changes_the_arbiter(machine: Machine) -> None:
    arbiter = main_pid("verbsa")
    done = machine.wizard("restart", "verbsa", "--hard", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert main_pid("verbsa") != arbiter and "ok   https://va.test/" in done.stdout


def nginx_test_ok() -> bool:
    return subprocess.run(["nginx", "-t"], capture_output=True, timeout=60).returncode == 0


def traces_of(name: str) -> list[str]:
    """Every place an install of ``name`` leaves a mark that remove must take away."""
    found = [p for p in (f"/etc/nginx/sites-enabled/{name}", f"/etc/nginx/sites-available/{name}",
                         f"/etc/supervisor/conf.d/{name}.conf", f"/etc/piserver-wizard/{name}",
                         f"/etc/tmpfiles.d/piserver-wizard-{name}.conf", f"/etc/letsencrypt/live/{name}",
                         f"/etc/letsencrypt/renewal/{name}.conf", f"/home/pi/{name}")
             if os.path.lexists(p)]
    grep = subprocess.run(["grep", "-rl", f"/{name}", "/etc/nginx", "/etc/supervisor"], capture_output=True,
                          text=True).stdout.split()
    supervisor = subprocess.run(["supervisorctl", "status", name], capture_output=True, text=True).stdout
    certificates = subprocess.run(["certbot", "certificates", "--cert-name", name], capture_output=True,
                                  text=True, timeout=120).stdout
    return (found + grep + (["supervisor"] if "no such process" not in supervisor else [])
            + (["certbot"] if f"Certificate Name: {name}" in certificates else []))


def test_remove_dry_run_changes_nothing(machine: Machine) -> None:
    from site_checks import tree_fingerprint

    watched = ["/etc/nginx", "/etc/supervisor", "/etc/piserver-wizard", "/etc/cron.d", "/home/pi/verbsa",
               str(machine.folder / "state")]
    before = tree_fingerprint(*watched)
    done = machine.wizard("remove", "verbsa", "--dry-run", "--delete-certificate", "--delete-app-files")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rm /etc/nginx/sites-enabled/verbsa" in done.stdout and "certbot delete -n --cert-name verbsa" in done.stdout
    assert "Remove the renewal" not in done.stdout  # verbsb still needs the renewal job
    assert tree_fingerprint(*watched) == before


def test_remove_rolls_nginx_back_when_nginx_t_fails(machine: Machine) -> None:
    broken = Path("/etc/nginx/conf.d/zz-verbs-test-broken.conf")
    site = Path("/etc/nginx/sites-available/verbsa").read_text()
    broken.write_text("this is not nginx syntax;\n")
    try:
        done = machine.wizard("remove", "verbsa")
        assert done.returncode == 1, done.stdout
        assert "the previous files were put back" in done.stdout
        assert Path("/etc/nginx/sites-available/verbsa").read_text() == site
        assert os.readlink("/etc/nginx/sites-enabled/verbsa") == "/etc/nginx/sites-available/verbsa"
    finally:
        broken.unlink()
    assert nginx_test_ok()
    machine.install("verbsa")  # the program step had run: the same answers put it back
    assert machine.status("verbsa")[0] == 0


def test_remove_one_app_leaves_the_other_serving(machine: Machine) -> None:
    canary = Path("/etc/verbs-canary")
    canary.write_text("root's file\n")
    Path("/home/pi/verbsa/planted").symlink_to(canary)  # the untrusted app user's link to a root file
    kept = (main_pid("verbsb"), workers("verbsb"))
    done = machine.wizard("remove", "verbsa", "--delete-certificate", "--delete-app-files")
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert canary.read_text() == "root's file\n"
    finally:
        canary.unlink()
    assert (main_pid("verbsb"), workers("verbsb")) == kept
    assert nginx_test_ok() and http_get("vb.test")[0] == 301
    assert traces_of("verbsa") == []
    assert Path("/etc/cron.d/piserver-wizard-certbot").exists() or Path("/run/systemd/system").is_dir()
    state = json.loads((machine.folder / "state" / "state.json").read_text())
    assert not [k for k in state["steps"] if k.startswith("verbsa/")]
    code, report = machine.status()
    assert code == 0 and [a["name"] for a in report["apps"]] == ["verbsb"]


def test_the_same_answers_bring_it_back(machine: Machine) -> None:
    machine.install("verbsa")
    code, report = machine.status()
    assert code == 0 and sorted(a["name"] for a in report["apps"]) == sorted(APPS)
    assert http_get("va.test")[0] == 301
