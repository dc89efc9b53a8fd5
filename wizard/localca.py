"""The wizard's own certificate authority, for a site on the home network only (``https.mode = "local-ca"``).

No public CA can check a name that exists only on the LAN (``garden.local``, ``192.168.1.50``), so the
wizard makes its own, the way Caddy's ``tls internal`` does: a CA key that never leaves a root-only folder,
a server certificate for the site's names (valid 397 days, what browsers accept), re-issued by the renewal
job well before it expires, and the CA's certificate served over plain HTTP for devices to trust. All of it
is ``openssl`` in a script rendered from ``templates/`` (no compiled Python dependency); the same script is
what the wizard runs and what the job runs, so there is one way a certificate is made.

``.local`` names are answered by avahi-daemon (mDNS): the machine's own ``HOSTNAME.local`` by itself, any
other name by ``avahi-publish -a -R`` kept alive by supervisor.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import subprocess
import time
from pathlib import Path

CONFIG_ROOT = "/etc/piserver-wizard"
CA_DIR = f"{CONFIG_ROOT}/ca"
CA_KEY, CA_CERT = f"{CA_DIR}/ca.key", f"{CA_DIR}/ca.crt"
PUBLIC_NAME = "piserver-wizard-ca.crt"  # served at http://NAME/piserver-wizard-ca.crt
VALID_DAYS = 397  # the longest validity browsers accept for a server certificate
CA_DAYS = 3650
RENEW_DAYS = 60  # with a monthly job, a certificate is renewed at least a month before it ends
TIMER_SCHEDULE = "daily"


def cert_dir(app_name: str) -> str:
    return f"{CONFIG_ROOT}/local-certs/{app_name}"


def renew_script(app_name: str) -> str:
    return f"{CONFIG_ROOT}/{app_name}/renew-local-certificate"


def job_name(app_name: str) -> str:
    """The one renewal job of this site's certificate: a cron file or a systemd timer of this name."""
    return f"piserver-wizard-local-ca-{app_name}"


def lan_addresses(ip_addresses: list[str]) -> list[str]:
    """The Pi's private IPv4 addresses: what a browser on the LAN types as https://192.168.1.50/."""
    found = []
    for text in ip_addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address.version == 4 and address.is_private and not address.is_loopback:
            found.append(str(address))
    return found


def subject_names(domains: list[str], ip_addresses: list[str], serve_lan: bool) -> list[str]:
    """The certificate's subjectAltName entries, in the order given."""
    names = [f"DNS:{name}" for name in domains]
    return names + ([f"IP:{a}" for a in lan_addresses(ip_addresses)] if serve_lan else [])


def local_names(domains: list[str], hostname: str) -> tuple[bool, list[str]]:
    """(the machine's own HOSTNAME.local is asked for, the other .local names to publish as aliases)."""
    own = f"{hostname.split('.')[0].lower()}.local"
    local = [name for name in domains if name.endswith(".local")]
    return own in local, [name for name in local if name != own]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:40] or "pi"


def script_text(app_name: str, san: list[str], hostname: str, reload: list[str], webroot: str,
                ca_dir: str = CA_DIR, out_dir: str | None = None) -> str:
    from .render import render

    return render("local-ca-renew.sh.j2", app_name=app_name, ca_dir=ca_dir, cert_dir=out_dir or cert_dir(app_name),
                  san=san, common_name=_safe(app_name), ca_name=f"piserver-wizard local CA ({_safe(hostname)})",
                  days=VALID_DAYS, ca_days=CA_DAYS, renew_days=RENEW_DAYS, public_name=PUBLIC_NAME,
                  webroot=webroot, reload=reload)


def _decode(path: str) -> dict | None:
    try:
        return ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]
    except (OSError, ssl.SSLError, ValueError):
        return None


def names_of(cert_pem: str) -> frozenset[str] | None:
    """The certificate's subjectAltName entries as ``DNS:x`` / ``IP:y``; None without a readable one."""
    decoded = _decode(cert_pem)
    if decoded is None:
        return None
    kinds = {"DNS": "DNS", "IP Address": "IP"}
    return frozenset(f"{kinds.get(kind, kind)}:{value.rstrip()}" for kind, value in decoded.get("subjectAltName", ()))


def days_left(cert_pem: str) -> float:
    decoded = _decode(cert_pem)
    if decoded is None:
        return -1.0
    return (ssl.cert_time_to_seconds(decoded["notAfter"]) - time.time()) / 86400


def signed_by(cert_pem: str, ca_cert: str) -> bool:
    """openssl's own verdict that the certificate chains to this CA (the key may have been made anew)."""
    try:
        done = subprocess.run(["openssl", "verify", "-CAfile", ca_cert, cert_pem], capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def certificate_current(out_dir: str, san: list[str], ca_cert: str = CA_CERT) -> bool:
    """The certificate there names exactly ``san``, chains to the CA and has more than RENEW_DAYS left."""
    cert = f"{out_dir}/cert.pem"
    if not Path(f"{out_dir}/fullchain.pem").is_file() or not Path(f"{out_dir}/privkey.pem").is_file():
        return False
    return names_of(cert) == frozenset(san) and days_left(cert) > RENEW_DAYS and signed_by(cert, ca_cert)


TRUST_STEPS: tuple[tuple[str, str], ...] = (
    ("Windows", "open the .crt, Install Certificate, Local Machine, 'Trusted Root Certification Authorities'"),
    ("macOS", "open the .crt (Keychain Access, System), then Get Info, Trust, 'Always Trust'"),
    ("Linux", "sudo cp it to /usr/local/share/ca-certificates/piserver-wizard-ca.crt; sudo update-ca-certificates"),
    ("Android", "Settings, Security, Encryption & credentials, Install a certificate, CA certificate"),
    ("iOS", "open the URL in Safari, install the profile (Settings, Profile Downloaded), then Settings, "
            "General, About, Certificate Trust Settings: turn it on"),
    ("Firefox", "Settings, Privacy & Security, Certificates, View Certificates, Authorities, Import, "
                "'Trust this CA to identify websites'"),
)


def trust_lines(primary: str) -> list[tuple[str, str]]:
    """The finish screen's and the summary's words on trusting the CA, one line per kind of device."""
    url = f"http://{primary}/{PUBLIC_NAME}"
    return [("Trust the CA", f"download {url} on each device, then:")] + [
        (f"  {system}", how) for system, how in TRUST_STEPS]
