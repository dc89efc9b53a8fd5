"""The example playbook run for real by ansible-core, against THIS machine (ansible_connection=local).

The issue's fleet (two booted containers reached over SSH) is tests/test_fleet.py; this is one host, this
one, and what the fleet test does not do: check mode on a host without the wizard yet, and a failing step.
It shows the role end to end: check mode with --diff changes nothing, the real run installs the wizard from the
wheel into a root-owned venv and the site (HTTPS from pebble), a second run reports changed=0, a change
of answers in check mode shows the nginx/supervisor diff and changes nothing, and a failing step fails
the host with the step's name and output. Its own venv, answers folder and state folder; removed after.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ensure_user, forget_app
from site_checks import https_get, pebble_root

pytestmark = [pytest.mark.slow, pytest.mark.e2e,
              pytest.mark.skipif(not (Path(sys.executable).parent / "ansible-playbook").exists(),
                                 reason="ansible-core is not in this venv: pip install '.[test]' (scripts/test does)")]

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NAME, DOMAIN = "fleetplay", "fleetplay.test"
VENV, ANSWERS_DIR = Path("/opt/piserver-wizard-fleetplay"), Path("/etc/piserver-wizard/fleetplay.d")
GUNICORN_CONF = Path(f"/etc/piserver-wizard/{NAME}/gunicorn.conf.py")  # the app's workers live here


def recap(output: str) -> dict[str, int]:
    found = re.search(r"^fleet-local\s*:\s*(.*)$", output, re.MULTILINE)
    assert found, output
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", found.group(1))}


class Play:
    """ansible-playbook on site.yml with an inventory of one host: this machine."""

    def __init__(self, folder: Path, acme: dict[str, str], wheel: Path) -> None:
        self.folder = folder
        self.inventory = folder / "inventory.yml"
        host = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                "piserver_wizard_domains": [DOMAIN], "piserver_wizard_app_name": NAME,
                "piserver_wizard_app_bind": "127.0.0.1:4720",
                "piserver_wizard_app_user": "pi", "piserver_wizard_app_create_user": False,
                "piserver_wizard_app_directory": f"/home/pi/{NAME}", "piserver_wizard_wheel": str(wheel),
                "piserver_wizard_venv": str(VENV), "piserver_wizard_answers_dir": str(ANSWERS_DIR),
                "piserver_wizard_update_packages": False, "piserver_wizard_app_workers": 2,
                "piserver_wizard_https_email": "admin@example.com", "piserver_wizard_https_agree_tos": True,
                "piserver_wizard_https_acme_server": acme["ACME_DIRECTORY_URL"],
                "piserver_wizard_environment": {"REQUESTS_CA_BUNDLE": acme["BUNDLE"], "PISERVER_WIZARD_OFFLINE": "1",
                                                "PISERVER_WIZARD_STATE_DIR": str(folder / "state")}}
        self.inventory.write_text(json.dumps({"pis": {"hosts": {"fleet-local": host}}}))  # JSON is YAML

    def __call__(self, *extra: str) -> subprocess.CompletedProcess:
        # This machine's own environment (pip's index settings reach the role's pip task, as on a Pi its
        # pip.conf would); Ansible's own files in the test's folder.
        env = dict(os.environ, PATH=f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_HOME=str(self.folder / "ansible"), ANSIBLE_LOCAL_TEMP=str(self.folder / "tmp"),
                   ANSIBLE_REMOTE_TEMP=str(self.folder / "tmp"), PISERVER_WIZARD_OFFLINE="1")
        env.pop("PYTHONPATH", None)
        done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(self.inventory), "site.yml", *extra],
                              cwd=REPO / "ansible", capture_output=True, text=True, env=env, timeout=1500,
                              stdin=subprocess.DEVNULL)
        print(f"--- ansible-playbook {' '.join(extra)}\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}")
        return done


def remove_everything() -> None:
    forget_app(NAME)
    for path in (VENV, Path(f"{VENV}-dist"), ANSWERS_DIR):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def plays(acme: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    ensure_user("pi")
    remove_everything()
    folder = tmp_path_factory.mktemp("play")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder / "dist"), str(REPO)],
                   check=True, timeout=600, capture_output=True)
    wheel = next((folder / "dist").glob("piserver_wizard-*.whl"))
    play = Play(folder, acme, wheel)
    try:
        results = {"check-fresh": play("--check", "--diff"), "venv-after-check": VENV.exists()}
        results["first"] = play()
        results["https"] = https_get(DOMAIN, pebble_root(acme, folder / "root.pem"))
        results["second"] = play()
        before = GUNICORN_CONF.read_text()
        results["check-change"] = play("--check", "--diff", "-e", "piserver_wizard_app_workers=3")
        results["unchanged"] = GUNICORN_CONF.read_text() == before
        results["failing"] = play("-e", "piserver_wizard_app_wsgi=nosuchmodule:app")
        yield results
    finally:
        remove_everything()


def test_check_mode_on_a_fresh_host_changes_nothing(plays: dict) -> None:
    done = plays["check-fresh"]
    assert done.returncode == 0, done.stdout
    assert recap(done.stdout)["failed"] == 0
    assert plays["venv-after-check"] is False
    assert "not installed on fleet-local yet" in done.stdout


def test_the_real_run_installs_the_site_and_says_changed(plays: dict) -> None:
    done = plays["first"]
    assert done.returncode == 0, done.stdout
    assert recap(done.stdout)["changed"] > 0
    status, body, _ = plays["https"]
    assert status == 200 and body
    assert f"https://{DOMAIN}/" in done.stdout  # the urls from the wizard's JSON


def test_the_second_run_says_changed_0(plays: dict) -> None:
    done = plays["second"]
    assert done.returncode == 0, done.stdout
    assert recap(done.stdout)["changed"] == 0


def test_check_diff_of_a_change_shows_the_diff_and_changes_nothing(plays: dict) -> None:
    done = plays["check-change"]
    assert done.returncode == 0, done.stdout
    assert recap(done.stdout)["changed"] > 0
    assert f"+++ {GUNICORN_CONF}" in done.stdout and "+workers = 3" in done.stdout
    assert plays["unchanged"] is True


def test_a_failed_step_fails_the_host_with_its_name_and_output(plays: dict) -> None:
    done = plays["failing"]
    assert done.returncode != 0
    assert recap(done.stdout)["failed"] == 1
    assert "piserver-wizard failed at step" in done.stdout and "nosuchmodule" in done.stdout
