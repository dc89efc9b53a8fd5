"""A site on the home network only: the wizard's own CA, HOSTNAME.local by avahi, one renewal job.

mDNS is multicast, which would leave the machine: before the wizard starts avahi-daemon, the test limits
it to one end of a veth pair whose other end is in a network namespace the test made (so every packet
stays on this machine), and puts everything back after.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import stat
import subprocess
from pathlib import Path

import pytest

from wizard import localca, verify

from conftest import ensure_user, forget_app, wizard_env
from site_checks import http_get, tree_fingerprint

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

APP = "lanca"
HOST = socket.gethostname().split(".")[0].lower()
OWN = f"{HOST}.local"
ALIAS = "garden-lanca.local"
DUMMY, PEER, NETNS, DUMMY_ADDRESS = "pwzmdns0", "pwzmdns1", "pwz-localca", "10.213.7.1"
AVAHI_CONF = Path("/etc/avahi/avahi-daemon.conf")
ANSWERS = f"""\
[site]
domains = ["{OWN}", "{ALIAS}"]
serve_lan_addresses = true
[app]
name = "{APP}"
user = "pi"
directory = "/home/pi/{APP}"
workers = 1
bind = "127.0.0.1:4420"
[https]
mode = "local-ca"
"""
WATCHED = ["/etc/nginx", "/etc/supervisor", "/etc/cron.d", "/etc/piserver-wizard", f"/home/pi/{APP}"]


def _sh(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=600)


def _confine_avahi() -> str:
    """avahi-daemon installed but not started (policy-rc.d), then told to use our dummy link only."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "avahi-daemon", "avahi-utils"], check=True, env=env,
                   capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    for argv in (["ip", "netns", "add", NETNS], ["ip", "link", "add", DUMMY, "type", "veth", "peer", "name", PEER],
                 ["ip", "link", "set", PEER, "netns", NETNS], ["ip", "addr", "add", f"{DUMMY_ADDRESS}/24", "dev", DUMMY],
                 ["ip", "link", "set", DUMMY, "multicast", "on", "up"],
                 ["ip", "netns", "exec", NETNS, "ip", "link", "set", PEER, "up"]):
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    original = AVAHI_CONF.read_text()
    text = re.sub(r"^#?allow-interfaces=.*$", f"allow-interfaces={DUMMY}", original, flags=re.M)
    AVAHI_CONF.write_text(text)
    return original


def _release_avahi(original: str) -> None:
    conf = Path("/etc/supervisor/conf.d/piserver-wizard-avahi-daemon.conf")
    if conf.exists():
        conf.unlink()
        _sh("supervisorctl", "update")
    _sh("service", "avahi-daemon", "stop")
    AVAHI_CONF.write_text(original)
    _sh("ip", "link", "del", DUMMY)
    _sh("ip", "netns", "del", NETNS)


def _forget_local_ca() -> None:
    forget_app(APP)
    supervisor = Path(f"/etc/supervisor/conf.d/{localca.job_name(APP)}.conf")
    if supervisor.exists():
        supervisor.unlink()
        _sh("supervisorctl", "update")
    for path in (Path(f"/etc/cron.d/{localca.job_name(APP)}"), Path(localca.renew_script(APP))):
        path.unlink(missing_ok=True)
    _sh("rm", "-rf", localca.cert_dir(APP), localca.CA_DIR)


def run(wizard_bin: str, answers: Path) -> subprocess.CompletedProcess:
    return subprocess.run([wizard_bin, "--answers", str(answers)], capture_output=True, text=True,
                          env=wizard_env(), timeout=1800, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed(wizard_bin: str, as_root: None, tmp_path_factory: pytest.TempPathFactory):
    ensure_user("pi")
    _forget_local_ca()
    _sh("ip", "link", "del", DUMMY)
    _sh("ip", "netns", "del", NETNS)
    dbus_was_running = _sh("service", "dbus", "status").returncode == 0
    original = _confine_avahi()
    folder = tmp_path_factory.mktemp("localca")
    answers = folder / "answers.toml"
    answers.write_text(ANSWERS)
    try:
        first = run(wizard_bin, answers)
        print(first.stdout, first.stderr)
        assert first.returncode == 0, first.stdout + first.stderr
        status, _, body = http_get(OWN, "/" + localca.PUBLIC_NAME)
        assert status == 200
        published = folder / "ca.crt"
        published.write_text(body)
        yield {"answers": answers, "first": first, "ca": published}
    finally:
        _forget_local_ca()
        _release_avahi(original)
        if not dbus_was_running:
            _sh("service", "dbus", "stop")


def _https(name: str, cafile: Path, sni: str | None = None) -> tuple[str, dict]:
    context = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=sni or name) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            return data.decode("utf-8", "replace"), tls.getpeercert()


def test_https_on_hostname_local_verifies_against_the_published_ca(installed: dict) -> None:
    assert installed["ca"].read_text() == Path(localca.CA_CERT).read_text()
    for name in (OWN, ALIAS):
        text, cert = _https(name, installed["ca"])
        assert " 200 " in text.split("\r\n", 1)[0] and "Hello, World!" in text
    names = {v for k, v in cert["subjectAltName"]}
    assert {OWN, ALIAS, DUMMY_ADDRESS} <= names


def test_validity_and_the_ca_key(installed: dict) -> None:
    days = localca.days_left(f"{localca.cert_dir(APP)}/cert.pem")
    assert 390 < days <= 397
    key = Path(localca.CA_KEY)
    info = key.stat()
    assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    nobody = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(key)], capture_output=True)
    assert nobody.returncode != 0


def test_avahi_answers_the_names(installed: dict) -> None:
    assert _sh("avahi-daemon", "--check").returncode == 0
    program = f"{localca.job_name(APP)}-1"
    ok, state = verify.eventually(lambda: (verify.supervisor_state(program) == "RUNNING",
                                           verify.supervisor_state(program)), timeout=30)
    assert ok, f"avahi-publish for {ALIAS} is {state}"  # STARTING for its first 2 s (startsecs)
    assert "avahi-publish" in Path(f"/etc/supervisor/conf.d/{localca.job_name(APP)}.conf").read_text()


def test_one_renewal_job(installed: dict) -> None:
    script = localca.renew_script(APP)
    jobs = [p for p in Path("/etc/cron.d").iterdir() if script in p.read_text(errors="replace")]
    systemd = Path("/run/systemd/system").is_dir()
    assert len(jobs) == (0 if systemd else 1)
    assert "certbot" not in "".join(p.read_text() for p in jobs)


def test_the_finish_says_how_to_trust_the_ca(installed: dict) -> None:
    said = installed["first"].stdout
    assert f"http://{OWN}/{localca.PUBLIC_NAME}" in said


def test_a_rerun_changes_nothing(installed: dict, wizard_bin: str) -> None:
    before = tree_fingerprint(*WATCHED)
    again = run(wizard_bin, installed["answers"])
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to do" in again.stdout
    assert tree_fingerprint(*WATCHED) == before
