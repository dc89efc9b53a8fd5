"""Before a real certificate request, a dry run; when it fails, the reason in plain words and no real order.

The DNS-01 laboratory's pebble (tests/dnslab.py) looks for HTTP-01 on a port where nothing listens, as a
CA does when a router drops port 80: a name whose A record points there gets the "could not connect to
port 80" explanation with the switch to dns-01 or local-ca; a name the zone does not have gets its own.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dnslab
import pytest

from conftest import ensure_user, forget_app, wizard_env

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

APP = "diag"
ANSWERS = """\
[site]
domains = ["{domain}"]
[app]
name = "diag"
user = "pi"
directory = "/home/pi/diag"
workers = 1
bind = "127.0.0.1:4430"
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{server}"
"""


@pytest.fixture(scope="module")
def lab(acme: dict[str, str]):
    ensure_user("pi")
    forget_app(APP)
    started, procs = dnslab.start("refused IN A 127.0.0.1\n")
    try:
        yield started
    finally:
        dnslab.stop(procs)
        forget_app(APP)


def _run(wizard_bin: str, lab: dnslab.Lab, acme: dict[str, str], domain: str, folder: Path):
    answers = folder / f"{domain}.toml"
    answers.write_text(ANSWERS.format(domain=domain, server=lab.directory_url))
    done = subprocess.run([wizard_bin, "--answers", str(answers)], capture_output=True, text=True,
                          env=wizard_env(acme), timeout=1800, stdin=subprocess.DEVNULL)
    log = Path(re.search(r"full log: (\S+)", done.stdout).group(1)).read_text(errors="replace")  # type: ignore
    return done, log


def _certbot_orders(log: str) -> list[str]:
    """Every certbot certonly the wizard ran, as the log shows its command line."""
    return [line for line in log.splitlines() if re.search(r"\bcertbot certonly\b", line) and "$ " in line]


def test_port_80_unreachable_is_explained_and_no_real_order(wizard_bin, lab, acme, tmp_path) -> None:
    done, log = _run(wizard_bin, lab, acme, "refused.lab.test", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "could not connect to port 80 of refused.lab.test" in said
    assert 'use https.challenge = "dns-01" or https.mode = "local-ca"' in said
    orders = _certbot_orders(log)
    assert orders and all("--dry-run" in line for line in orders), orders
    assert not Path(f"/etc/letsencrypt/live/{APP}").exists()


def test_a_name_that_does_not_resolve_has_its_own_words(wizard_bin, lab, acme, tmp_path) -> None:
    done, log = _run(wizard_bin, lab, acme, "nxname.lab.test", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "nxname.lab.test does not resolve" in said
    assert "could not connect to port 80" not in said
    assert all("--dry-run" in line for line in _certbot_orders(log))
    assert not Path(f"/etc/letsencrypt/live/{APP}").exists()
