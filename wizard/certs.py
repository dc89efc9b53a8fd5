"""What certbot already has for a site: names on the certificate and the ACME server it came from.

Reading these lets a re-run leave a valid certificate alone (Let's Encrypt allows five certificates per
identical set of names a week) and update it in place when the names change.
"""

from __future__ import annotations

import configparser
import ssl
from dataclasses import dataclass
from pathlib import Path

LETSENCRYPT = Path("/etc/letsencrypt")


@dataclass(frozen=True)
class CertInfo:
    names: frozenset[str]
    server: str
    not_after: str
    authenticator: str = ""  # how certbot proves the names at renewal: webroot, nginx, dns-cloudflare...


def _decode(pem_path: Path) -> dict:
    # The stdlib's own certificate decoder (used by ssl's tests); avoids a dependency on cryptography.
    return ssl._ssl._test_decode_cert(str(pem_path))  # type: ignore[attr-defined]


def live_dir(cert_name: str) -> Path:
    return LETSENCRYPT / "live" / cert_name


def read(cert_name: str) -> CertInfo | None:
    cert = live_dir(cert_name) / "cert.pem"
    renewal = LETSENCRYPT / "renewal" / f"{cert_name}.conf"
    if not cert.is_file() or not renewal.is_file():
        return None
    try:
        decoded = _decode(cert)
    except (OSError, ssl.SSLError, ValueError):
        return None
    names = frozenset(value.lower() for kind, value in decoded.get("subjectAltName", ()) if kind == "DNS")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string("[top]\n" + renewal.read_text())
    except (OSError, configparser.Error):
        return None
    server = parser.get("renewalparams", "server", fallback="")
    authenticator = parser.get("renewalparams", "authenticator", fallback="")
    return CertInfo(names, server, decoded.get("notAfter", ""), authenticator)


def cert_der(cert_name: str) -> bytes | None:
    return der_of(str(live_dir(cert_name) / "cert.pem"))


def der_of(pem_path: str) -> bytes | None:
    try:
        return ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())
    except (OSError, ValueError):
        return None


def names_in(pem_path: str) -> frozenset[str] | None:
    """The DNS names of a certificate file (the local CA's, which certbot does not know)."""
    try:
        decoded = _decode(Path(pem_path))
    except (OSError, ssl.SSLError, ValueError):
        return None
    return frozenset(value.lower() for kind, value in decoded.get("subjectAltName", ()) if kind == "DNS")
