"""A program that crashed (FATAL), was stopped by its owner, or is in a crash loop: the same answers again
bring it back RUNNING. And an app on a unix socket (app.bind = "unix:...") is served through nginx.

In one booted lab container (container_lab.py: systemd as PID 1, its own network namespace and pebble),
Debian 12. The app listens on a unix socket, so the first run is itself the socket test: its final check
fetches the site through nginx, which answered 502 when nginx (www-data) could not connect to the socket.
FATAL is made for real: gunicorn uninstalled from the venv (a spawn error at every start), and the app's
module raising at import; supervisor gives up after its retries, the cause is fixed, the wizard runs again.
(`supervisorctl start` of a program whose command is missing leaves it STOPPED: supervisor checks the
file before it spawns. FATAL comes from supervisor's own starts, at its start or a boot.)
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import REPO
from container_lab import WIZARD, WIZARD_ENV, booted_lab
from site_checks import http_get, https_get
from systemd_container import Container

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAME = "phoenix"
SOCKET = f"/run/{NAME}/gunicorn.sock"
DOMAIN = "phoenix.pi.test"
APP_PY = f"/home/pi/{NAME}/app.py"
ANSWERS = f"""\
[site]
domains = ["{DOMAIN}"]
[app]
name = "{NAME}"
user = "pi"
directory = "/home/pi/{NAME}"
workers = 1
bind = "unix:{SOCKET}"
[system]
update_packages = false  # the lab's offline layer holds the lists and the packages
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{{server}}"
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(["python3", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=600)
    return next(out.glob("piserver_wizard-*.whl"))


@pytest.fixture(scope="module")
def pi(as_root: None, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with booted_lab("bookworm", "program-states", wheel) as (net, box):
        box.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], timeout=60)
        answers = tmp_path_factory.mktemp("answers") / "answers.toml"
        answers.write_text(ANSWERS.format(server=net.acme["ACME_DIRECTORY_URL"]))
        box.copy_in(answers, "/root/answers.toml")
        first = wizard(box)
        assert first.returncode == 0, first.stdout + first.stderr
        yield {"box": box, "net": net, "first": first, "root": net.root_pem(answers.with_name("root.pem"))}


def wizard(box: Container) -> subprocess.CompletedProcess:
    done = box.run([*WIZARD, "--answers", "/root/answers.toml"], timeout=1800, check=False, env=WIZARD_ENV)
    print(done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def run_log(box: Container, done: subprocess.CompletedProcess) -> str:
    """The run's full log (headless prints the steps; what a step did is in the log)."""
    path = re.search(r"full log: (\S+\.log)", done.stdout).group(1)
    return box.path(path).read_text(errors="replace")


def state(box: Container) -> str:
    out = box.run(["supervisorctl", "status", NAME], timeout=30, check=False).stdout.split()
    return out[1] if len(out) > 1 and out[0] == NAME else "UNKNOWN"


def wait_for(box: Container, *wanted: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while (now := state(box)) not in wanted and time.monotonic() < deadline:
        time.sleep(0.5)
    return now


def as_pi(box: Container, script: str) -> None:
    box.run(["runuser", "-u", "pi", "--", "sh", "-c", script], timeout=30)


def serves(pi: dict) -> None:
    with pi["net"].inside():
        status, headers, _ = http_get(DOMAIN)
        assert status == 301 and headers["Location"] == f"https://{DOMAIN}/"
        status, text, _ = https_get(DOMAIN, pi["root"])
    assert status == 200 and "Hello, World!" in text
    assert state(pi["box"]) == "RUNNING"


def test_the_app_on_a_unix_socket_is_served_through_nginx(pi: dict) -> None:
    serves(pi)
    box = pi["box"]
    folder = box.run(["stat", "-c", "%a %U %G", f"/run/{NAME}"], timeout=30).stdout.split()
    assert folder == ["2770", "pi", "www-data"]  # the folder is what keeps others from the socket
    # nginx's user itself can connect (a 502 in a booted container was EACCES on the socket)
    asked = box.run(["runuser", "-u", "www-data", "--", "python3", "-c",
                     "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])", SOCKET],
                    timeout=30, check=False)
    assert asked.returncode == 0, asked.stderr
    other = box.run(["runuser", "-u", "nobody", "--", "python3", "-c",
                     "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])", SOCKET],
                    timeout=30, check=False)
    assert other.returncode != 0 and "Permission denied" in other.stderr


def test_a_program_in_fatal_is_started_once_its_cause_is_fixed(pi: dict) -> None:
    """FATAL made for real and without a race: gunicorn gone from the venv (the owner uninstalled it) when
    supervisor starts (here: supervisor restarted, as at a boot), so every start is a spawn error and
    supervisor gives up after its retries. The re-run reinstalls it (the pip step sees it missing) and must
    then start the program itself: supervisor never retries a FATAL one."""
    box = pi["box"]
    as_pi(box, f"/home/pi/{NAME}/venv/bin/pip uninstall -y -q gunicorn")
    box.run(["systemctl", "restart", "supervisor"], timeout=120)
    assert wait_for(box, "FATAL") == "FATAL"
    again = wizard(box)
    assert again.returncode == 0
    assert "Install the Python packages into the venv ... done" in again.stdout
    assert f"{NAME} is not running" in run_log(box, again)  # the program step started it; waiting would time out
    serves(pi)


def test_a_program_stopped_by_its_owner_is_started(pi: dict) -> None:
    box = pi["box"]
    box.run(["supervisorctl", "stop", NAME], timeout=60)
    assert state(box) == "STOPPED"
    again = wizard(box)
    assert again.returncode == 0
    assert f"{NAME} is not running" in run_log(box, again)
    serves(pi)


def boot_failures(box: Container) -> int:
    """How often gunicorn has halted because its worker could not load the app (its error log)."""
    out = box.run(["sh", "-c", f"grep -ci 'failed to boot\\|failed to load' /var/log/{NAME}/{NAME}.err.log || true"],
                  timeout=30).stdout.strip()
    return int(out or 0)


def test_an_app_that_raised_at_import_runs_again_once_fixed(pi: dict) -> None:
    """The app's module raises at import: gunicorn halts ("Worker failed to boot") at every start. Where a
    start takes under startsecs (2 s) supervisor backs off and gives up (FATAL); on a slow or busy machine
    (a Pi Zero, this VM under load) each start lives longer and supervisor restarts it forever (RUNNING,
    EXITED, STARTING). Either way: the owner fixes the file, and the same answers again end RUNNING."""
    box = pi["box"]
    before = boot_failures(box)
    as_pi(box, f"cp {APP_PY} {APP_PY}.good && (echo 'raise RuntimeError(\"broken\")'; cat {APP_PY}.good) > {APP_PY}")
    box.run(["supervisorctl", "restart", NAME], timeout=120, check=False)
    deadline = time.monotonic() + 120
    while boot_failures(box) < before + 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert boot_failures(box) >= before + 2  # a crash loop: two starts at least, each halted
    print(f"crash loop: supervisor says {state(box)}")
    as_pi(box, f"cat {APP_PY}.good > {APP_PY} && rm {APP_PY}.good")  # the owner fixes it
    again = wizard(box)
    assert again.returncode == 0
    serves(pi)
