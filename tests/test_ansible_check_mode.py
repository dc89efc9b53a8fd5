"""The role in Ansible's check mode against this machine: the wizard's dry run, its diffs, a refused answer.

Check mode changes nothing (the wizard runs with --dry-run, the other tasks only look), so this needs no
lock; the wizard is the one installed in the test venv (``piserver_wizard_venv`` points there). The real
run of the playbook is tests/test_ansible_playbook.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NAME = "fleetcheck"

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="the role's tasks look at the machine as root"),
              pytest.mark.skipif(not (BIN / "ansible-playbook").exists(),
                                 reason="ansible-core is not in this venv: pip install '.[test]' (scripts/test does)")]


def play(tmp_path: Path, **overrides: object) -> subprocess.CompletedProcess:
    host = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
            "piserver_wizard_domains": [f"{NAME}.test"], "piserver_wizard_app_name": NAME,
            "piserver_wizard_venv": str(BIN.parent), "piserver_wizard_answers_dir": str(tmp_path / "answers"),
            "piserver_wizard_https_enabled": False,
            "piserver_wizard_environment": {"PISERVER_WIZARD_OFFLINE": "1",
                                            "PISERVER_WIZARD_STATE_DIR": str(tmp_path / "state")}} | overrides
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"pis": {"hosts": {"fleet-local": host}}}))
    env = dict(os.environ, PATH=f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path / "ansible"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_REMOTE_TEMP=str(tmp_path / "tmp"))
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "site.yml", "--check", "--diff"],
                          cwd=REPO / "ansible", capture_output=True, text=True, env=env, timeout=600,
                          stdin=subprocess.DEVNULL)


def recap(output: str) -> dict[str, int]:
    found = re.search(r"^fleet-local\s*:\s*(.*)$", output, re.MULTILINE)
    assert found, output
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", found.group(1))}


def test_check_mode_shows_the_wizards_diffs_and_changes_nothing(tmp_path: Path) -> None:
    done = play(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    site = f"/etc/nginx/sites-available/{NAME}"
    assert f"+++ {site}" in done.stdout  # the wizard's own diff, shown under --diff
    assert f"server_name {NAME}.test" in done.stdout
    assert recap(done.stdout)["changed"] > 0 and recap(done.stdout)["failed"] == 0
    assert not Path(site).exists() and not (tmp_path / "answers").exists()


def test_a_refused_answer_fails_the_host_with_the_wizards_message(tmp_path: Path) -> None:
    done = play(tmp_path, piserver_wizard_app_bind="nowhere")
    assert done.returncode != 0
    assert recap(done.stdout)["failed"] == 1
    assert "piserver-wizard refused to start" in done.stdout and "app.bind" in done.stdout
