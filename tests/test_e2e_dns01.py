"""DNS-01 for real on loopback: bind9 holds the zone, a pebble of its own checks the TXT records through it.

The installed wizard, with ``dns_provider = "rfc2136"`` and a TSIG key in a root-only credentials file,
gets one certificate for ``lab.test`` and ``*.lab.test``; nginx serves it for the apex and for any name
under the wildcard; ``certbot renew --dry-run`` passes with the same plugin; nothing ever asked for port
80 (this pebble would look for HTTP-01 on a port where the test listens and counts); and the TSIG secret
is in no log, state, saved answers, diff or output.
"""

from __future__ import annotations

import configparser
import re
import socket
import subprocess
import threading
from pathlib import Path

import dnslab
import pytest

from wizard import dns01

from conftest import ensure_user, forget_app, wizard_env
from site_checks import https_get

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

APP = "dnslab"
CREDENTIALS = f"{dns01.CREDENTIALS_DIR}/rfc2136-test.ini"
ANSWERS = """\
[site]
domains = ["lab.test", "*.lab.test"]
[app]
name = "dnslab"
user = "pi"
directory = "/home/pi/dnslab"
workers = 2
bind = "127.0.0.1:4410"
[https]
email = "admin@example.com"
agree_tos = true
challenge = "dns-01"
dns_provider = "rfc2136"
dns_credentials = "{credentials}"
dns_propagation_seconds = 1
acme_server = "{server}"
"""


class Knocks:
    """A listener on the port where this pebble would look for HTTP-01: it counts who comes."""

    def __init__(self, port: int) -> None:
        self.count = 0
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


def run(wizard_bin: str, answers: Path, acme: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([wizard_bin, "--answers", str(answers), *extra], capture_output=True, text=True,
                          env=wizard_env(acme), timeout=1800, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed(wizard_bin: str, acme: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    ensure_user("pi")
    forget_app(APP)
    lab, procs = dnslab.start()
    knocks = Knocks(dnslab.DEAD_HTTP_PORT)
    try:
        dns01.write_credentials(CREDENTIALS, dns01.credentials_text("rfc2136", lab.credentials()))
        folder = tmp_path_factory.mktemp("dns01")
        answers = folder / "answers.toml"
        answers.write_text(ANSWERS.format(credentials=CREDENTIALS, server=lab.directory_url))
        first = run(wizard_bin, answers, acme)
        print(first.stdout, first.stderr)
        assert first.returncode == 0, first.stdout + first.stderr
        yield {"lab": lab, "answers": answers, "first": first, "knocks": knocks,
               "root": dnslab.pebble_root(acme["ACME_CA_BUNDLE"], folder / "root.pem")}
    finally:
        knocks.close()
        dnslab.stop(procs)
        forget_app(APP)
        Path(CREDENTIALS).unlink(missing_ok=True)


def test_one_certificate_for_the_name_and_its_wildcard(installed: dict) -> None:
    for host in ("lab.test", "www.lab.test", "anything.lab.test"):
        status, text, cert = https_get(host, installed["root"])  # verified against this pebble's root
        assert status == 200 and "Hello, World!" in text
        assert {v for k, v in cert["subjectAltName"] if k == "DNS"} == {"lab.test", "*.lab.test"}


def test_renewal_uses_the_same_plugin(installed: dict, acme: dict[str, str]) -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.read_string("[top]\n" + Path(f"/etc/letsencrypt/renewal/{APP}.conf").read_text())
    assert config.get("renewalparams", "authenticator") == "dns-rfc2136"
    assert config.get("renewalparams", "dns_rfc2136_credentials") == CREDENTIALS
    assert "Test renewal" in installed["first"].stdout
    again = subprocess.run(["certbot", "renew", "--dry-run", "--cert-name", APP, "-n", "--no-random-sleep-on-renew",
                            "--server", installed["lab"].directory_url], capture_output=True, text=True,
                           env=wizard_env(acme), timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Congratulations, all simulated renewals succeeded" in again.stdout + again.stderr


def test_port_80_was_never_asked_for(installed: dict) -> None:
    assert installed["knocks"].count == 0  # the CA never tried HTTP-01
    log = Path("/var/log/letsencrypt/letsencrypt.log").read_text(errors="replace")
    assert "dns-01 challenge for lab.test" in log
    assert not re.search(r"http-01 challenge for (\*\.)?lab\.test\b", log)  # this site's names (the log is shared)
    access = Path(f"/var/log/nginx/{APP}.access.log")
    assert not access.exists() or "/.well-known/acme-challenge/" not in access.read_text()


def test_the_credentials_file_is_roots_alone(installed: dict) -> None:
    info = Path(CREDENTIALS).stat()
    assert info.st_uid == 0 and info.st_gid == 0 and info.st_mode & 0o777 == 0o600
    assert Path(CREDENTIALS).parent.stat().st_mode & 0o777 == 0o700


def test_the_tsig_secret_is_nowhere_else(installed: dict, wizard_bin: str, acme: dict[str, str]) -> None:
    secret = installed["lab"].secret
    first = installed["first"]
    dry = run(wizard_bin, installed["answers"], acme, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    log_path = re.search(r"full log: (\S+)", first.stdout).group(1)  # type: ignore[union-attr]
    places = {"stdout": first.stdout + first.stderr, "dry-run (plan and diffs)": dry.stdout + dry.stderr}
    for path in (Path(log_path), Path("/var/lib/piserver-wizard/state.json"),
                 Path("/var/lib/piserver-wizard/answers.toml"), installed["answers"]):
        if path.exists():
            places[str(path)] = path.read_text(errors="replace")
    for where, text in places.items():
        assert secret not in text, where
