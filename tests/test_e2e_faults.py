"""Faults injected on this machine: each leaves nginx serving, nothing half-done, and a clear reason."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, ensure_user, forget_app, wizard_env
from site_checks import http_get, https_get, pebble_root, tree_fingerprint

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

LONG_NAME = ".".join(["a" * 60] * 3) + ".example.com"  # 194 characters: valid DNS, too long for nginx's default


def answers_text(name: str, domains: list[str], port: int, https: bool = False, source: str = "sample",
                 server: str = "") -> str:
    return f"""\
[site]
domains = {repr(domains).replace("'", '"')}
[app]
name = "{name}"
user = "pi"
directory = "/home/pi/{name}"
source = "{source}"
workers = 1
bind = "127.0.0.1:{port}"
[https]
enabled = {str(https).lower()}
email = "admin@example.com"
agree_tos = true
acme_server = "{server or 'letsencrypt-staging'}"
"""


def run(wizard_bin: str, path: Path, acme: dict[str, str] | None = None, *extra: str,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([wizard_bin, "--answers", str(path), *extra], capture_output=True, text=True,
                          env={**wizard_env(acme), **(env or {})}, timeout=1800, stdin=subprocess.DEVNULL)
    print(done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def nginx_master() -> str:
    return Path("/run/nginx.pid").read_text().strip()


FAULT_APPS = ("faulty", "acmedown", "noimport", "nostart")


@pytest.fixture(scope="module", autouse=True)
def _fresh(as_root: None) -> object:
    """Each app from nothing, and gone afterwards: left running, an app keeps its port and its names, and
    a later test's app given the same port was answered by this one's gunicorn."""
    ensure_user("pi")
    for name in FAULT_APPS:
        forget_app(name)
    yield
    for name in FAULT_APPS:
        forget_app(name)


@pytest.fixture()
def neighbour_site() -> object:
    """Another site on port 80, as on any Pi that serves more than one: nginx only builds its server-name
    hash (where a long name overflows a bucket) when two server blocks share an address and port. On a
    fresh machine the wizard's site is the only one there, and nginx -t would accept the long name."""
    site = Path("/etc/nginx/sites-enabled/zz-piserver-test-neighbour")
    site.write_text("server {\n    listen 80;\n    server_name neighbour.test;\n    return 204;\n}\n")
    subprocess.run(["service", "nginx", "reload"], capture_output=True, timeout=60)
    yield site
    site.unlink()
    subprocess.run(["service", "nginx", "reload"], capture_output=True, timeout=60)


def test_nginx_t_failure_puts_the_old_site_back(wizard_bin: str, tmp_path: Path, neighbour_site: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text("faulty", ["ok.faulty.test"], 4810))
    assert run(wizard_bin, answers).returncode == 0
    before = tree_fingerprint("/etc/nginx")
    master = nginx_master()
    answers.write_text(answers_text("faulty", ["ok.faulty.test", LONG_NAME], 4810))
    failed = run(wizard_bin, answers)
    assert failed.returncode == 1
    assert "nginx -t exited with status 1" in failed.stdout
    assert "server_names_hash_bucket_size" in failed.stdout  # nginx's own words
    assert "previous files were put back" in failed.stdout
    assert tree_fingerprint("/etc/nginx") == before
    assert nginx_master() == master
    status, _, body = http_get("ok.faulty.test")
    assert status == 200 and "Hello, World!" in body
    answers.write_text(answers_text("faulty", ["ok.faulty.test"], 4810))
    again = run(wizard_bin, answers)
    assert again.returncode == 0


def test_apt_failures_are_named_and_the_next_run_goes_on(wizard_bin: str, tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text("faulty", ["ok.faulty.test"], 4810))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "purge", "-y", "-q", "python3-venv"], check=True, capture_output=True, env=env)
    broken = Path("/etc/apt/sources.list.d/zz-piserver-test-closed-port.list")
    pin = Path("/etc/apt/preferences.d/zz-piserver-test-no-venv")
    try:
        broken.write_text("deb http://127.0.0.1:9/debian bookworm main\n")  # a closed port on loopback
        failed = run(wizard_bin, answers)
        assert failed.returncode == 1
        assert "Step 'Update the package lists' failed" in failed.stdout
        assert "127.0.0.1:9" in failed.stdout
        broken.unlink()

        pin.write_text("Package: python3-venv\nPin: release *\nPin-Priority: -1\n")  # as if it did not exist
        failed = run(wizard_bin, answers)
        assert failed.returncode == 1
        assert "Step 'Install the system packages (nginx, python3-venv, supervisor, cron)' failed" in failed.stdout
        assert "python3-venv" in failed.stdout and "E:" in failed.stdout
        assert "Update the package lists ... done" in failed.stdout
        pin.unlink()

        resumed = run(wizard_bin, answers)
        assert resumed.returncode == 0
        assert "Install the system packages (nginx, python3-venv, supervisor, cron) ... done" in resumed.stdout
    finally:
        for path in (broken, pin):
            path.unlink(missing_ok=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "python3-venv"], check=True, capture_output=True, env=env)


def test_acme_server_down_leaves_http_working(wizard_bin: str, acme: dict[str, str], tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text("acmedown", ["down.test"], 4820, https=True, server=acme["ACME_DIRECTORY_URL"]))
    subprocess.run(["bash", str(REPO / ".ci" / "acme-down")], check=True, capture_output=True, timeout=120)
    try:
        failed = run(wizard_bin, answers, acme)
    finally:
        subprocess.run(["bash", str(REPO / ".ci" / "acme-up")], check=True, capture_output=True, timeout=120)
    assert failed.returncode == 1
    assert "Step 'Get a certificate for down.test' failed" in failed.stdout
    assert "certbot certonly" in failed.stdout and "127.0.0.1:14000" in failed.stdout
    site = Path("/etc/nginx/sites-available/acmedown").read_text()
    assert "listen 443" not in site  # nothing half-configured: no TLS block without a certificate
    status, _, body = http_get("down.test")
    assert status == 200 and "Hello, World!" in body
    resumed = run(wizard_bin, answers, acme)
    assert resumed.returncode == 0
    status, text, _ = https_get("down.test", pebble_root(acme, tmp_path / "root.pem"))
    assert status == 200 and "Hello, World!" in text


def test_a_wsgi_that_does_not_import_is_stopped_with_the_error(wizard_bin: str, tmp_path: Path) -> None:
    folder = Path("/home/pi/noimport")
    folder.mkdir(exist_ok=True)
    (folder / "app.py").write_text("import module_that_is_not_there\napp = None\n")
    pi = pwd.getpwnam("pi")
    for path in (folder, folder / "app.py"):  # the owner's own app, as the README has them copy it in
        os.chown(path, pi.pw_uid, pi.pw_gid)
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text("noimport", ["noimport.test"], 4830, source="existing"))
    failed = run(wizard_bin, answers)
    assert failed.returncode == 1
    assert "Step 'Check that app:app imports' failed" in failed.stdout
    assert ("the app needs the Python package 'module_that_is_not_there', which is not installed: add it to "
            "requirements.txt") in failed.stdout
    assert not Path("/etc/supervisor/conf.d/noimport.conf").exists()


def test_an_app_that_cannot_start_shows_supervisors_log(wizard_bin: str, tmp_path: Path) -> None:
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 4840))
    blocker.listen()
    try:
        answers = tmp_path / "a.toml"
        answers.write_text(answers_text("nostart", ["nostart.test"], 4840))
        failed = run(wizard_bin, answers)
    finally:
        blocker.close()
    assert failed.returncode == 1
    assert "supervisor: nostart is" in failed.stdout
    assert "not RUNNING" in failed.stdout or "nothing answers HTTP on 127.0.0.1:4840" in failed.stdout
    assert "last lines of /var/log/nostart/nostart.err.log" in failed.stdout
    assert "Connection in use" in failed.stdout or "Address already in use" in failed.stdout
    resumed = run(wizard_bin, answers)  # the port is free now: the same command finishes the job
    assert resumed.returncode == 0


def test_a_full_state_disk_is_a_clear_error_and_no_corruption(wizard_bin: str, tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text("faulty", ["ok.faulty.test"], 4810))
    mount = tmp_path / "state"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        env = {"PISERVER_WIZARD_STATE_DIR": str(mount)}
        assert run(wizard_bin, answers, env=env).returncode == 0
        state = (mount / "state.json").read_text()
        subprocess.run(["dd", "if=/dev/zero", f"of={mount}/filler", "bs=4k"], capture_output=True)
        failed = run(wizard_bin, answers, env=env)
        assert failed.returncode == 1
        assert "No space left on device" in failed.stderr and "cannot save" in failed.stderr
        assert (mount / "state.json").read_text() == state
        assert not [p for p in mount.iterdir() if p.name.endswith(".tmp")]
        (mount / "filler").unlink()
        assert run(wizard_bin, answers, env=env).returncode == 0
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_second_wizard_refuses_naming_the_first(wizard_bin: str, tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text("faulty", ["ok.faulty.test"], 4810))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom wizard.session import run_lock\nlock = run_lock()\n"
         "lock.acquire()\nprint('held', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = run(wizard_bin, answers)
        assert refused.returncode == 2
        assert f"another piserver-wizard is running (PID {holder.pid})" in refused.stderr
    finally:
        holder.kill()
        holder.wait()
    assert run(wizard_bin, answers).returncode == 0  # a lock left by a dead wizard is taken over


def test_port_80_held_by_another_program_is_refused(wizard_bin: str, tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text("faulty", ["ok.faulty.test"], 4810))
    subprocess.run(["service", "nginx", "stop"], check=True, capture_output=True)
    squatter = subprocess.Popen([sys.executable, "-m", "http.server", "80", "--bind", "127.0.0.1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        before = tree_fingerprint("/etc/nginx", "/var/lib/piserver-wizard/state.json")
        refused = run(wizard_bin, answers)
        assert refused.returncode == 2
        assert "port 80 is held by python" in refused.stdout and "--force" in refused.stderr
        assert tree_fingerprint("/etc/nginx", "/var/lib/piserver-wizard/state.json") == before
    finally:
        squatter.kill()
        squatter.wait()
        subprocess.run(["service", "nginx", "start"], check=True, capture_output=True)
