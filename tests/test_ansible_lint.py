"""The Ansible role and its example playbook: lint-clean, valid, and the answers it renders are the wizard's.

ansible-lint and ansible-core come from the test extra. The template is rendered by Ansible itself (a
playbook on the controller only, connecting nowhere) from the role's defaults and the example inventory,
and each result must pass ``piserver-wizard --check``; a value with quotes and newlines must stay one
value (to_json), so the wizard refuses it by its key instead of reading a key it smuggled in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ANSIBLE = REPO / "ansible"
BIN = Path(sys.executable).parent
# A role of the test's own with the real role's defaults and template: its one task renders on the controller.
RENDER_TASK = """\
- name: Render
  ansible.builtin.copy:
    content: "{{{{ lookup('ansible.builtin.template', 'answers.toml.j2') }}}}"
    dest: "{out}/{{{{ inventory_hostname }}}}.toml"
    mode: "0600"
  delegate_to: localhost
"""
RENDER_PLAY = "- name: Render each host's answers\n  hosts: pis\n  gather_facts: false\n  roles: [render]\n"


def tool(name: str) -> str:
    found = BIN / name
    if not found.exists():  # a venv made before the test extra had it; scripts/test always installs it
        pytest.skip(f"{name} is not in this venv: pip install '.[test]' (scripts/test does)")
    return str(found)


def ansible_env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
            "ANSIBLE_NOCOLOR": "1", "LANG": "C.UTF-8", "PISERVER_WIZARD_OFFLINE": "1"}


def test_ansible_lint_is_clean_on_the_role_and_the_playbook(tmp_path: Path) -> None:
    done = subprocess.run([tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor",
                           "site.yml", "roles/piserver_wizard", "inventory.example.yml"],
                          cwd=ANSIBLE, capture_output=True, text=True, env=ansible_env(tmp_path), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failure(s), 0 warning(s)" in done.stdout + done.stderr


def test_the_playbook_is_valid(tmp_path: Path) -> None:
    done = subprocess.run([tool("ansible-playbook"), "--syntax-check", "-i", "inventory.example.yml", "site.yml"],
                          cwd=ANSIBLE, capture_output=True, text=True, env=ansible_env(tmp_path), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def render(tmp_path: Path, inventory: Path, *extra: str) -> dict[str, Path]:
    playbook, out, role = tmp_path / "render.yml", tmp_path / "out", tmp_path / "roles" / "render"
    out.mkdir()
    (role / "tasks").mkdir(parents=True)
    for part in ("defaults", "templates"):
        (role / part).symlink_to(ANSIBLE / "roles" / "piserver_wizard" / part)
    (role / "tasks" / "main.yml").write_text(RENDER_TASK.format(out=out))
    playbook.write_text(RENDER_PLAY)
    done = subprocess.run([tool("ansible-playbook"), "-i", str(inventory), str(playbook), *extra],
                          capture_output=True, text=True, env=ansible_env(tmp_path), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return {path.stem: path for path in out.glob("*.toml")}


def check(answers: Path) -> subprocess.CompletedProcess:
    wizard = shutil.which("piserver-wizard") or pytest.fail("piserver-wizard is not on PATH")
    return subprocess.run([wizard, "--answers", str(answers), "--check"], capture_output=True, text=True,
                          env=dict(os.environ, PISERVER_WIZARD_OFFLINE="1"), timeout=60)


def test_each_host_of_the_example_gets_valid_answers_of_its_own(tmp_path: Path) -> None:
    rendered = render(tmp_path, ANSIBLE / "inventory.example.yml")
    assert set(rendered) == {"pi-kitchen.local", "pi-lab.local"}
    for host, path in rendered.items():
        done = check(path)
        assert done.returncode == 0, (host, path.read_text(), done.stderr)
    lab = rendered["pi-lab.local"].read_text()
    assert 'domains = ["lab.example.com", "www.lab.example.com"]' in lab and 'name = "lab"' in lab
    assert "workers = 3" in lab and "agree_tos = true" in lab  # the group's shared answers
    assert 'directory = "/srv/lab"' in lab and 'user = "lab"' in lab and "create_user = true" in lab


def test_a_value_cannot_smuggle_in_another_key(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text('pis:\n  hosts:\n    evil:\n      piserver_wizard_domains: [a.example.com]\n'
                         '      piserver_wizard_app_name: "x\\"\\nuser = \\"root"\n')
    answers = render(tmp_path, inventory)["evil"]
    text = answers.read_text()
    assert 'user = "root"' not in text.replace('\\"', "") and text.count("\nuser = ") == 1
    done = check(answers)
    assert done.returncode == 2 and "app.name" in done.stderr, done.stderr
