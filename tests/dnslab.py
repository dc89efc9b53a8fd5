"""A DNS-01 laboratory on loopback: Debian's bind9 as the zone's server and a pebble of its own that asks it.

bind9 (named) serves the zone ``lab.test`` on 127.0.0.1:5300 and lets one TSIG key add and remove TXT
records (RFC 2136 dynamic updates), exactly what certbot's dns-rfc2136 plugin does at a real provider.
A separate pebble (ACME directory on 127.0.0.1:14001, management on 15001) resolves through that bind9,
so the shared pebble of the other tests (14000, mock DNS on 8053) is left alone. This pebble checks
HTTP-01 on port 5002, where nothing listens: it stands for a router that drops port 80, and proves that a
DNS-01 run never needed it. The lab starts and stops its own processes and leaves nothing behind.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ZONE = "lab.test"
DNS_PORT = 5300
ACME_PORT, MGMT_PORT = 14001, 15001
DEAD_HTTP_PORT = 5002  # where this pebble looks for HTTP-01: nothing listens there
KEY_NAME = "piserver-lab-key"
STATE = Path("/run/piserver-dnslab")
ACME_STATE = Path("/run/piserver-acme")  # .ci/acme-up's folder: its TLS pair serves our pebble too
ACCOUNTS = Path(f"/etc/letsencrypt/accounts/127.0.0.1:{ACME_PORT}")

NAMED_CONF = """\
options {{
    directory "{state}";
    pid-file "{state}/named.pid";
    session-keyfile "{state}/session.key";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-transfer {{ none; }};
    dnssec-validation no;
    notify no;
}};
controls {{ }};
key "{key}" {{ algorithm hmac-sha256; secret "{secret}"; }};
zone "{zone}" {{
    type primary;
    file "{state}/{zone}.zone";
    update-policy {{ grant {key} zonesub TXT; }};
}};
"""

ZONE_FILE = """\
$TTL 5
@   IN SOA ns.{zone}. admin.{zone}. ( 1 60 60 600 5 )
    IN NS  ns.{zone}.
ns  IN A   127.0.0.1
{records}"""


@dataclass
class Lab:
    secret: str
    directory_url: str
    pebble_log: Path
    named_log: Path

    def credentials(self) -> dict[str, str]:
        """What certbot's dns-rfc2136 plugin needs: the values the TUI asks for, the secret among them."""
        return {"dns_rfc2136_server": "127.0.0.1", "dns_rfc2136_port": str(DNS_PORT),
                "dns_rfc2136_name": KEY_NAME, "dns_rfc2136_secret": self.secret,
                "dns_rfc2136_algorithm": "HMAC-SHA256"}

    def validations(self) -> list[str]:
        """The challenge types this pebble validated (its log names each one it pulls from its queue)."""
        text = self.pebble_log.read_text(errors="replace")
        return [kind for kind in ("dns-01", "http-01", "tls-alpn-01") for _ in range(text.count(f"Type:\"{kind}\""))]


def _wait_port(port: int, proc: subprocess.Popen, log: Path, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {limit} s: {log.read_text()[-2000:]}")


def _start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    handle = log.open("ab")
    return subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})}, start_new_session=True)


def _named(records: str) -> subprocess.Popen:
    secret = base64.b64encode(os.urandom(32)).decode()
    (STATE / "named.conf").write_text(NAMED_CONF.format(state=STATE, port=DNS_PORT, key=KEY_NAME,
                                                        secret=secret, zone=ZONE))
    (STATE / f"{ZONE}.zone").write_text(ZONE_FILE.format(zone=ZONE, records=records))
    log = STATE / "named.log"
    proc = _start(["named", "-g", "-c", str(STATE / "named.conf")], log)
    _wait_port(DNS_PORT, proc, log)
    proc.secret = secret  # type: ignore[attr-defined]
    return proc


def _pebble() -> subprocess.Popen:
    config = STATE / "pebble-config.json"
    config.write_text(
        '{"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": "127.0.0.1:%d", '
        '"certificate": "%s", "privateKey": "%s", "httpPort": %d, "tlsPort": %d, "ocspResponderURL": "", '
        '"externalAccountBindingRequired": false}}' % (
            ACME_PORT, MGMT_PORT, ACME_STATE / "pebble-cert.pem", ACME_STATE / "pebble-key.pem",
            DEAD_HTTP_PORT, DEAD_HTTP_PORT + 1))
    log = STATE / "pebble.log"
    shutil.rmtree(ACCOUNTS, ignore_errors=True)  # pebble forgets its accounts when it starts
    proc = _start(["pebble", "-config", str(config), "-dnsserver", f"127.0.0.1:{DNS_PORT}"], log,
                  {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"})
    _wait_port(ACME_PORT, proc, log)
    return proc


def start(records: str = "") -> tuple[Lab, list[subprocess.Popen]]:
    """bind9 then pebble; ``records`` are extra zone lines (A records for the names a test uses)."""
    stop([])
    STATE.mkdir(mode=0o700)
    named = _named(records)
    pebble = _pebble()
    lab = Lab(named.secret, f"https://127.0.0.1:{ACME_PORT}/dir",  # type: ignore[attr-defined]
              STATE / "pebble.log", STATE / "named.log")
    return lab, [named, pebble]


def stop(procs: list[subprocess.Popen]) -> None:
    """Stop what ``start`` started (by its own pids), then remove its folder and pebble's dead accounts."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    shutil.rmtree(STATE, ignore_errors=True)
    shutil.rmtree(ACCOUNTS, ignore_errors=True)


def pebble_root(bundle: str, dest: Path) -> Path:
    """This pebble's own issuing root (it makes a new one at every start)."""
    context = ssl.create_default_context(cafile=bundle)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                         urllib.request.ProxyHandler({}))
    with opener.open(f"https://127.0.0.1:{MGMT_PORT}/roots/0", timeout=10) as response:
        dest.write_bytes(response.read())
    return dest
