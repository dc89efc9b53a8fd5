"""The issue's fleet: the example playbook run by ansible-core over SSH against two booted Debian containers.

One bookworm and one trixie container (fleet_lab.py), each in a network namespace of its own with the
address the test gave it, reached by SSH with a key made for this run, its names answered by the one
pebble's mock DNS with its own address, so each gets its certificate over HTTP-01 at its own nginx. The
plays, in order: the first (both hosts changed, both sites over HTTPS from the host); a second (changed=0
for both); check mode with --diff after one host's domains changed (its nginx diff shown, nothing written
on either host); the same change for real (only that host changes, its new name served).

Each play's time and recap are printed (``-s`` shows them); nothing is asserted about time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from fleet_lab import SSH_OPTIONS, Acme, Host, fleet, https_get_at, known_hosts, stamp

pytestmark = [pytest.mark.slow, pytest.mark.e2e,
              pytest.mark.skipif(not (Path(sys.executable).parent / "ansible-playbook").exists(),
                                 reason="ansible-core is not in this venv: pip install '.[test]' (scripts/test does)")]

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KITCHEN, LAB = "pi-kitchen", "pi-lab"
NEW_NAME = "menu.fleet.test"  # the name the kitchen's Pi gets later
WATCHED = "/etc/nginx /etc/supervisor /etc/letsencrypt /etc/cron.d /srv /etc/piserver-wizard /opt/piserver-wizard"


def hosts() -> dict[str, Host]:
    return {KITCHEN: Host(1, "bookworm", ["kitchen.fleet.test", NEW_NAME]),
            LAB: Host(2, "trixie", ["lab.fleet.test", "www.lab.fleet.test"])}


def inventory(fleet_hosts: dict[str, Host], acme: Acme, key: Path, known: Path, wheel: Path,
              kitchen_domains: list[str]) -> dict:
    """The example inventory's shape: shared answers for the group, the names and app per host."""
    shared = {"ansible_user": "root", "ansible_become_method": "su", "ansible_python_interpreter": "/usr/bin/python3",
              "ansible_ssh_private_key_file": str(key),
              "ansible_ssh_common_args": f"{SSH_OPTIONS} -o UserKnownHostsFile={known}",
              "piserver_wizard_wheel": str(wheel), "piserver_wizard_update_packages": False,
              "piserver_wizard_https_email": "admin@example.com", "piserver_wizard_https_agree_tos": True,
              "piserver_wizard_https_acme_server": acme.directory,
              "piserver_wizard_environment": {"REQUESTS_CA_BUNDLE": "/etc/ssl/acme-test-bundle.pem",
                                              "PISERVER_WIZARD_OFFLINE": "1"}}
    per_host = {KITCHEN: {"piserver_wizard_domains": kitchen_domains, "piserver_wizard_app_name": "menu"},
                LAB: {"piserver_wizard_domains": fleet_hosts[LAB].names, "piserver_wizard_app_name": "lab"}}
    for name, host_vars in per_host.items():
        host_vars["ansible_host"] = fleet_hosts[name].address
    return {"pis": {"vars": shared, "hosts": per_host}}


class Play:
    """ansible-playbook on the example site.yml, with Ansible's own files in the test's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.control = Path(tempfile.mkdtemp(prefix="pwf-cp-"))  # short: ssh's control socket paths are limited
        self.log: list[str] = []

    def __call__(self, label: str, plan: dict, *extra: str) -> subprocess.CompletedProcess:
        inventory = self.folder / f"inventory-{label}.yml"
        inventory.write_text(json.dumps(plan))  # JSON is YAML
        env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.folder), "LANG": "C.UTF-8",
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOME": str(self.folder / "ansible"),
               "ANSIBLE_LOCAL_TEMP": str(self.folder / "tmp"), "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control),
               "ANSIBLE_TIMEOUT": "30"}
        started = time.monotonic()
        done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "site.yml", *extra],
                              cwd=REPO / "ansible", capture_output=True, text=True, env=env, timeout=1800,
                              stdin=subprocess.DEVNULL)
        took = time.monotonic() - started
        recaps = {name: recap(done.stdout, name) for name in (KITCHEN, LAB) if f"\n{name} " in done.stdout}
        self.log.append(f"{label}: {took:.1f} s, exit {done.returncode}, recap {recaps}")
        print(f"--- play {label} ({' '.join(extra)}): {took:.1f} s\n{done.stdout[-8000:]}\n{done.stderr[-2000:]}")
        return done


def recap(output: str, host: str) -> dict[str, int]:
    found = re.search(rf"^{host}\s*:\s*(.*)$", output, re.MULTILINE)
    assert found, output[-4000:]
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", found.group(1))}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=600, capture_output=True)
    return next(out.glob("piserver_wizard-*.whl"))


@pytest.fixture(scope="module")
def plays(as_root: None, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("fleet")
    fleet_hosts = hosts()
    play = Play(folder)
    with fleet(list(fleet_hosts.values()), folder) as (acme, key):
        known = known_hosts(list(fleet_hosts.values()), folder / "known_hosts")
        before = inventory(fleet_hosts, acme, key, known, wheel, ["kitchen.fleet.test"])
        after = inventory(fleet_hosts, acme, key, known, wheel, ["kitchen.fleet.test", NEW_NAME])
        root = acme.root(folder / "root.pem")
        results: dict = {"hosts": fleet_hosts, "root": root}
        try:
            results["first"] = play("first", before)
            if results["first"].returncode != 0:  # the later plays would only repeat its failure
                yield results
                return
            results["https-first"] = {name: [fetch(host.address, domain, root) for domain in host.names
                                             if domain != NEW_NAME] for name, host in fleet_hosts.items()}
            results["second"] = play("second", before)
            results["stamps-before-check"] = {name: stamp(h.box, WATCHED) for name, h in fleet_hosts.items()}
            results["check"] = play("check", after, "--check", "--diff")
            results["stamps-after-check"] = {name: stamp(h.box, WATCHED) for name, h in fleet_hosts.items()}
            results["changed-domain"] = play("changed-domain", after)
            results["https-new-name"] = fetch(fleet_hosts[KITCHEN].address, NEW_NAME, root)
            yield results
        finally:
            print("\nfleet plays:\n  " + "\n  ".join(play.log))


def played(plays: dict, label: str) -> Any:
    if label not in plays:
        pytest.fail(f"{label!r} did not run: the first play failed (see its test)")
    return plays[label]


def fetch(address: str, domain: str, root: Path) -> tuple[int, str] | str:
    """The site as a visitor at the host sees it, or the error (kept for the assertion's message)."""
    try:
        return https_get_at(address, domain, root)
    except OSError as error:
        return f"{type(error).__name__}: {error}"


def test_first_play_changes_both_hosts(plays: dict) -> None:
    done = plays["first"]
    assert done.returncode == 0, done.stdout[-6000:]
    for host in (KITCHEN, LAB):
        counts = recap(done.stdout, host)
        assert counts["changed"] > 0 and counts["failed"] == 0 and counts["unreachable"] == 0, counts


def test_both_sites_serve_https_verified_by_pebbles_root(plays: dict) -> None:
    for name, answers in played(plays, "https-first").items():
        for answer in answers:
            assert isinstance(answer, tuple), f"{name}: {answer}"
            status, text = answer
            assert status == 200 and "Hello, World!" in text, f"{name}: {text[:500]}"


def test_each_host_serves_only_its_own_names(plays: dict) -> None:
    """The lab's Pi holds no certificate for the kitchen's name: what answered above was the right Pi."""
    wrong = fetch(plays["hosts"][LAB].address, "kitchen.fleet.test", plays["root"])
    assert not (isinstance(wrong, tuple) and wrong[0] == 200), wrong


def test_second_play_changes_nothing(plays: dict) -> None:
    done = played(plays, "second")
    assert done.returncode == 0, done.stdout[-6000:]
    for host in (KITCHEN, LAB):
        counts = recap(done.stdout, host)
        assert counts["changed"] == 0 and counts["failed"] == 0, counts


def test_check_diff_shows_the_nginx_diff_and_changes_nothing(plays: dict) -> None:
    done = played(plays, "check")
    assert done.returncode == 0, done.stdout[-6000:]
    assert "+++ /etc/nginx/sites-available/menu" in done.stdout
    assert re.search(r"\+\s*server_name kitchen\.fleet\.test menu\.fleet\.test;", done.stdout), done.stdout[-6000:]
    assert recap(done.stdout, KITCHEN)["changed"] > 0
    assert recap(done.stdout, LAB)["changed"] == 0
    assert played(plays, "stamps-after-check") == played(plays, "stamps-before-check")


def test_a_changed_domain_changes_only_its_host(plays: dict) -> None:
    done = played(plays, "changed-domain")
    assert done.returncode == 0, done.stdout[-6000:]
    assert recap(done.stdout, KITCHEN)["changed"] > 0
    assert recap(done.stdout, LAB)["changed"] == 0
    answer = played(plays, "https-new-name")
    assert isinstance(answer, tuple) and answer[0] == 200 and "Hello, World!" in answer[1], answer


def test_the_wizard_ran_as_root_from_the_wheel_in_its_own_venv(plays: dict) -> None:
    for host in plays["hosts"].values():
        listed = host.box.run(["stat", "-c", "%U %a", "/opt/piserver-wizard", "/opt/piserver-wizard/bin/piserver-wizard"],
                              timeout=30).stdout.split("\n")
        assert all(line.startswith("root ") for line in listed if line), listed
        freeze = host.box.run(["/opt/piserver-wizard/bin/pip", "freeze"], timeout=60).stdout
        assert "piserver-wizard @ file:///opt/piserver-wizard-dist/piserver_wizard-" in freeze, freeze

