"""The path every Raspberry Pi takes: systemd as PID 1, tested in booted Debian 12 (bookworm) and 13 (trixie).

Both releases run the same checks, one container after the other.

Each container (systemd-nspawn, see systemd_container.py) boots in a lab of its own (container_lab.py):
a network namespace with its own pebble, and an offline layer holding the packages the wizard installs,
so nothing here needs the host's ports or its pebble, and the checks below connect from inside the lab.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import REPO
from container_lab import WIZARD, WIZARD_ENV, booted_lab, offline_roots
from site_checks import http_get, https_get
from systemd_container import SUITES, Container

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ANSWERS = """\
[site]
domains = ["systemd.test", "www.systemd.test"]
[app]
name = "pisite"
user = "pi"
directory = "/home/pi/pisite"
workers = 2
bind = "127.0.0.1:4600"
[system]
update_packages = false  # the lab has no route out: its offline layer holds the lists and the packages
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{server}"
renewal = "auto"
"""
WATCHED = "/etc/nginx /etc/supervisor /etc/letsencrypt /etc/cron.d /home/pi/pisite /etc/piserver-wizard"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(["python3", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=600)
    return next(out.glob("piserver_wizard-*.whl"))


@pytest.fixture(scope="module", params=SUITES)
def pi(request: pytest.FixtureRequest, as_root: None, wheel: Path, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[dict]:
    suite = request.param
    started = time.monotonic()
    offline_roots(suite)
    times = {"root": time.monotonic() - started}
    started = time.monotonic()
    with booted_lab(suite, f"piserver-{suite}-test", wheel) as (net, box):
        times["boot"] = time.monotonic() - started
        box.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], timeout=60)
        answers = tmp_path_factory.mktemp(f"answers-{suite}") / "answers.toml"
        answers.write_text(ANSWERS.format(server=net.acme["ACME_DIRECTORY_URL"]))
        box.copy_in(answers, "/root/answers.toml")
        started = time.monotonic()
        first = wizard(box)
        times["wizard"] = time.monotonic() - started
        print(f"\nsystemd path on {suite}: root {times['root']:.1f} s, boot and wizard install {times['boot']:.1f} s, "
              f"wizard {times['wizard']:.1f} s\n{first.stdout}\n{first.stderr}")
        assert first.returncode == 0, first.stdout + first.stderr
        yield {"box": box, "net": net, "first": first, "times": times, "suite": suite,
               "root": net.root_pem(answers.with_name("root.pem"))}


def wizard(box: Container) -> subprocess.CompletedProcess:
    return box.run([*WIZARD, "--answers", "/root/answers.toml"], timeout=1800, check=False, env=WIZARD_ENV)


def test_the_wizard_saw_systemd(pi: dict) -> None:
    out = pi["first"].stdout
    assert "via systemd" in out
    assert "renewed by certbot.timer" in out


def test_site_over_http_and_https(pi: dict) -> None:
    with pi["net"].inside():
        status, headers, _ = http_get("systemd.test")
        assert status == 301 and headers["Location"] == "https://systemd.test/"
        status, text, _ = https_get("www.systemd.test", pi["root"])
    assert status == 200 and "Hello, World!" in text


def test_services_are_active_and_enabled(pi: dict) -> None:
    box = pi["box"]
    for unit in ("nginx", "supervisor", "certbot.timer"):
        assert box.run(["systemctl", "is-active", unit], timeout=30, check=False).stdout.strip() == "active"
        assert box.run(["systemctl", "is-enabled", unit], timeout=30, check=False).stdout.strip() == "enabled"
    timers = box.run(["systemctl", "list-timers", "certbot.timer", "--no-pager"], timeout=30).stdout
    assert "certbot.timer" in timers
    status = box.run(["supervisorctl", "status", "pisite"], timeout=30).stdout
    assert "RUNNING" in status


def test_exactly_one_renewal_job(pi: dict) -> None:
    box = pi["box"]
    assert not box.path("/etc/cron.d/piserver-wizard-certbot").exists()
    debian = box.path("/etc/cron.d/certbot")
    # Debian's own cron entry stays, and stays silent, because systemd runs: the timer is the one job.
    if debian.exists():
        assert "! -d /run/systemd/system" in debian.read_text()
    crontab = box.run(["sh", "-c", "crontab -l 2>/dev/null || true"], timeout=30).stdout
    assert "certbot" not in crontab


def test_gunicorn_runs_as_pi(pi: dict) -> None:
    out = pi["box"].run(["ps", "-ww", "-eo", "user:20,args"], timeout=30).stdout
    lines = [line for line in out.splitlines() if "/home/pi/pisite/venv/bin/gunicorn" in line]
    assert len(lines) == 3 and all(line.split()[0] == "pi" for line in lines)


def test_no_op_rerun_changes_nothing(pi: dict) -> None:
    box = pi["box"]
    stamp = ["sh", "-c", f"find {WATCHED} -printf '%p %s %m %T@\\n' 2>/dev/null | sort"]
    before = box.run(stamp, timeout=60).stdout
    started = time.monotonic()
    again = wizard(box)
    elapsed = time.monotonic() - started
    print(f"\nsystemd no-op re-run: {elapsed:.2f} s (first run {pi['times']['wizard']:.1f} s)")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to do" in again.stdout
    assert box.run(stamp, timeout=60).stdout == before


def test_the_release_is_the_one_booted(pi: dict) -> None:
    """The wizard names the system it found; both releases are taken without --force."""
    release = {"bookworm": "Debian GNU/Linux 12 (bookworm)", "trixie": "Debian GNU/Linux 13 (trixie)"}[pi["suite"]]
    assert f"piserver-wizard on piserver-{pi['suite']}-test ({release}," in pi["first"].stdout
    assert "REFUSED" not in pi["first"].stdout


def test_nginx_t_has_no_warning(pi: dict) -> None:
    """nginx 1.26 (trixie) deprecates `listen ... http2`: the site must use the directive its nginx takes."""
    checked = pi["box"].run(["nginx", "-t"], timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr and "[emerg]" not in checked.stderr, checked.stderr


def test_https_speaks_http2(pi: dict) -> None:
    """Whichever way the site says it (listen parameter or `http2 on;`), nginx offers h2 by ALPN."""
    import socket
    import ssl

    context = ssl.create_default_context(cafile=str(pi["root"]))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with pi["net"].inside(), socket.create_connection(("127.0.0.1", 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="systemd.test") as tls:
            assert tls.selected_alpn_protocol() == "h2"
