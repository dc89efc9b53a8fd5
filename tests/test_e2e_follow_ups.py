"""Runs killed between a file write and its follow-up, and programs left stopped: the next run makes good.

On this machine, with pebble. One app ("phoenix") is killed right after its supervisor program file is
written (supervisor never told), then right after its TLS site file is written (nginx never reloaded);
each following run must finish the job. Then the program is stopped, and removed from
supervisor by hand: each time the same answers again bring it back RUNNING.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from kill_helpers import file_says, run_until

from conftest import ensure_user, forget_app, wizard_env
from site_checks import http_get, https_get, pebble_root

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAME = "phoenix"
DOMAIN = "phoenix.pi.test"
ANSWERS = f"""\
[site]
domains = ["{DOMAIN}"]
[app]
name = "{NAME}"
user = "pi"
directory = "/home/pi/{NAME}"
workers = 1
bind = "127.0.0.1:4890"
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{{server}}"
"""
PROGRAM = f"/etc/supervisor/conf.d/{NAME}.conf"
SITE = f"/etc/nginx/sites-available/{NAME}"


def supervisor_state() -> str:
    out = subprocess.run(["supervisorctl", "status", NAME], capture_output=True, text=True, timeout=30).stdout
    parts = out.split()
    return parts[1] if len(parts) > 1 and parts[0] == NAME else "UNKNOWN"


def wait_for_state(wanted: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while (state := supervisor_state()) != wanted and time.monotonic() < deadline:
        time.sleep(0.25)
    return state


class Phoenix:
    def __init__(self, wizard_bin: str, acme: dict[str, str], folder: Path) -> None:
        self.wizard_bin, self.acme, self.folder = wizard_bin, acme, folder
        self.answers = folder / "answers.toml"
        self.answers.write_text(ANSWERS.format(server=acme["ACME_DIRECTORY_URL"]))
        self.runs = 0

    @property
    def argv(self) -> list[str]:
        return [self.wizard_bin, "--answers", str(self.answers)]

    def run(self) -> subprocess.CompletedProcess:
        done = subprocess.run(self.argv, capture_output=True, text=True, env=wizard_env(self.acme),
                              timeout=1800, stdin=subprocess.DEVNULL)
        print(done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        return done

    def kill_when(self, moment) -> None:
        self.runs += 1
        killed = run_until(self.argv, moment, wizard_env(self.acme), self.folder / f"killed-{self.runs}.log")
        print(killed.output)
        assert killed.killed, f"the run ended before the moment came:\n{killed.output}"

    def serves_https(self) -> None:
        status, headers, _ = http_get(DOMAIN)
        assert status == 301 and headers["Location"] == f"https://{DOMAIN}/"
        status, text, _ = https_get(DOMAIN, pebble_root(self.acme, self.folder / "root.pem"))
        assert status == 200 and "Hello, World!" in text
        assert supervisor_state() == "RUNNING"


@pytest.fixture(scope="module")
def phoenix(as_root: None, wizard_bin: str, acme: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> Phoenix:
    ensure_user("pi")
    forget_app(NAME)
    yield Phoenix(wizard_bin, acme, tmp_path_factory.mktemp(NAME))
    forget_app(NAME)


def test_killed_after_the_program_file_supervisor_learns_of_it_next_run(phoenix: Phoenix) -> None:
    phoenix.kill_when(file_says(PROGRAM, f"[program:{NAME}]"))
    assert supervisor_state() == "UNKNOWN"  # the moment: file there, supervisor never told
    phoenix.kill_when(file_says(SITE, "listen 443"))
    status, _, _ = http_get(DOMAIN)
    assert status == 200  # the moment: the TLS site written, nginx still serving the plain one
    resumed = phoenix.run()
    assert resumed.returncode == 0
    phoenix.serves_https()
def test_a_stopped_program_is_started(phoenix: Phoenix) -> None:
    subprocess.run(["supervisorctl", "stop", NAME], check=True, capture_output=True, timeout=60)
    assert supervisor_state() == "STOPPED"
    again = phoenix.run()
    assert again.returncode == 0
    phoenix.serves_https()


def test_a_program_removed_from_supervisor_is_added_back(phoenix: Phoenix) -> None:
    # supervisor removes only a stopped program ("ERROR: process/group still running" otherwise)
    subprocess.run(["supervisorctl", "stop", NAME], check=True, capture_output=True, timeout=60)
    removed = subprocess.run(["supervisorctl", "remove", NAME], capture_output=True, text=True, timeout=60)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert supervisor_state() == "UNKNOWN"
    again = phoenix.run()
    assert again.returncode == 0
    phoenix.serves_https()
