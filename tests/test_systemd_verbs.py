"""status, the login notice and remove where systemd is PID 1 and the renewal timer is real.

A booted Debian 12 container (systemd_container.py) in a lab of its own (container_lab.py: its own network
namespace and pebble, an offline layer), so nothing here needs the host's ports or the e2e lock. One
release: the install itself is tested on both in test_systemd_e2e.py; the verbs read the same units there.
"""

from __future__ import annotations

import json
import subprocess
from typing import Iterator

import pytest

from conftest import REPO
from container_lab import WIZARD, WIZARD_ENV, booted_lab
from systemd_container import Container

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SUITE = "bookworm"
ANSWERS = """\
[site]
domains = ["{domain}"]
[app]
name = "{name}"
user = "pi"
directory = "/home/pi/{name}"
workers = 2
bind = "127.0.0.1:{port}"
[system]
update_packages = false  # the lab has no route out: its offline layer holds the lists and the packages
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{server}"
renewal = "auto"
"""
APPS = {"sda": ("sda.test", 4630), "sdb": ("sdb.test", 4640)}
MOTD, STATUS_CRON = "/etc/update-motd.d/90-piserver-wizard", "/etc/cron.d/piserver-wizard-status"


def verb(box: Container, *argv: str) -> subprocess.CompletedProcess:
    return box.run([*WIZARD, *argv], timeout=900, check=False, env=WIZARD_ENV)


def install(box: Container, name: str) -> subprocess.CompletedProcess:
    return verb(box, "--answers", f"/root/{name}.toml")


@pytest.fixture(scope="module")
def box(as_root: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(["python3", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=600)
    wheel = next(out.glob("piserver_wizard-*.whl"))
    with booted_lab(SUITE, "piserver-verbs-test", wheel) as (net, box):
        box.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], timeout=60)
        for name, (domain, port) in APPS.items():
            answers = out / f"{name}.toml"
            answers.write_text(ANSWERS.format(name=name, domain=domain, port=port,
                                              server=net.acme["ACME_DIRECTORY_URL"]))
            box.copy_in(answers, f"/root/{name}.toml")
            done = install(box, name)
            assert done.returncode == 0, done.stdout + done.stderr
        yield box


def login(box: Container) -> str:
    """What cron runs every five minutes (its job line, as root, in cron's environment from the file),
    then what pam_motd prints at an SSH login: every script of /etc/update-motd.d, by run-parts."""
    lines = box.path(STATUS_CRON).read_text().splitlines()
    job = next(line for line in lines if line.startswith("*/5 ")).split(" root ", 1)[1]
    env = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")
               and " " not in line.split("=", 1)[0])
    box.run(["env", *(f"{k}={v}" for k, v in env.items()), "sh", "-c", job], timeout=600, check=False)
    shown = box.run(["run-parts", "--lsbsysinit", "/etc/update-motd.d"], timeout=60).stdout
    return "\n".join(line for line in shown.splitlines() if line.startswith("piserver-wizard"))


def test_status_reads_the_real_timer_and_the_login_shows_nothing(box: Container) -> None:
    done = verb(box, "status", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    apps = {app["name"]: app for app in json.loads(done.stdout)["apps"]}
    assert sorted(apps) == sorted(APPS)
    for name, (domain, _port) in APPS.items():
        app = apps[name]
        assert app["healthy"] and app["state"] == "RUNNING" and app["certificate"]["names"] == [domain]
        assert app["renewal"]["method"] == "timer" and app["renewal"]["in_place"] and app["renewal"]["next_run"]
        assert app["certificate"]["days_left"] > 0
    assert box.run(["systemctl", "is-active", "cron"], timeout=30, check=False).stdout.strip() == "active"
    assert login(box) == ""


def test_a_stopped_app_and_a_stopped_timer_fail_status_and_show_at_login(box: Container) -> None:
    box.run(["supervisorctl", "stop", "sda"], timeout=60)
    try:
        stopped = verb(box, "status", "--json")
        shown = login(box)
    finally:
        box.run(["supervisorctl", "start", "sda"], timeout=120)
    apps = {app["name"]: app for app in json.loads(stopped.stdout)["apps"]}
    assert stopped.returncode == 1 and not apps["sda"]["healthy"] and apps["sdb"]["healthy"]
    assert shown.startswith("piserver-wizard: 1 app(s) need attention: sda (supervisor: sda is STOPPED")
    box.run(["systemctl", "stop", "certbot.timer"], timeout=60)
    try:
        timer = verb(box, "status", "--json")
        doctor = verb(box, "doctor", "--json", "--skip-renewal-test")
        shown = login(box)
    finally:
        box.run(["systemctl", "start", "certbot.timer"], timeout=60)
    assert timer.returncode == 1
    assert "renewal: certbot.timer is not active" in json.loads(timer.stdout)["apps"][0]["problems"]
    assert doctor.returncode == 1 and ("renewal", "error") in {
        (f["code"], f["level"]) for f in json.loads(doctor.stdout)["findings"]}
    assert shown.startswith("piserver-wizard: 2 app(s) need attention: sda (") and "certbot.timer" in shown
    assert verb(box, "status").returncode == 0 and login(box) == ""


def traces(box: Container, name: str) -> str:
    return box.run(["sh", "-c", f"ls -d /etc/nginx/sites-*/{name} /etc/supervisor/conf.d/{name}.conf "
                    f"/etc/piserver-wizard/{name} /etc/letsencrypt/live/{name} /etc/tmpfiles.d/*{name}* "
                    f"/var/lib/piserver-wizard/apps/{name}.toml 2>/dev/null; "
                    f"grep -rl {name} /etc/nginx /etc/supervisor /etc/cron.d; true"], timeout=60).stdout.strip()


def test_remove_one_then_the_last_and_the_answers_bring_it_back(box: Container) -> None:
    kept = box.run(["supervisorctl", "pid", "sdb"], timeout=30).stdout.strip()
    done = verb(box, "remove", "sda", "--delete-certificate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert traces(box, "sda") == "" and "sda" not in box.run(["certbot", "certificates"], timeout=120).stdout
    assert box.run(["supervisorctl", "pid", "sdb"], timeout=30).stdout.strip() == kept
    assert box.path(MOTD).exists() and box.path(STATUS_CRON).exists()  # sdb still needs the notice
    last = verb(box, "remove", "sdb", "--delete-certificate")
    assert last.returncode == 0, last.stdout + last.stderr
    assert traces(box, "sdb") == ""
    assert not box.path(MOTD).exists() and not box.path(STATUS_CRON).exists()
    assert not box.path("/var/lib/piserver-wizard/notice").exists()
    assert box.run(["nginx", "-t"], timeout=60, check=False).returncode == 0
    assert box.run(["readlink", "/etc/nginx/sites-enabled/default"], timeout=30).stdout.strip() == \
        "/etc/nginx/sites-available/default"  # the last app: Debian's default site is back
    assert json.loads(verb(box, "status", "--json").stdout)["apps"] == []
    again = install(box, "sda")
    assert again.returncode == 0, again.stdout + again.stderr
    assert verb(box, "status").returncode == 0 and box.path(MOTD).exists() and login(box) == ""

