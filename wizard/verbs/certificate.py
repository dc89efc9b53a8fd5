"""What the certificate of an app says now: its names, issuer and how long it has left.

Read from certbot's own files (the stdlib decodes them), so it works for any CA, staging and test ones
included, and needs no network.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import asdict, dataclass
from typing import Any

from .. import certs


@dataclass(frozen=True)
class CertificateStatus:
    names: list[str]
    issuer: str
    not_after: str  # ISO 8601, UTC
    days_left: int
    server: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _issuer(decoded: dict[str, Any]) -> str:
    fields = {key: value for rdn in decoded.get("issuer", ()) for key, value in rdn}
    return fields.get("commonName") or fields.get("organizationName") or "unknown"


def certificate_status(cert_name: str, now: float | None = None) -> CertificateStatus | None:
    """None when certbot holds no certificate of that name (never issued, or deleted)."""
    info = certs.read(cert_name)
    if info is None:
        return None
    try:
        decoded = certs._decode(certs.live_dir(cert_name) / "cert.pem")
        expires = ssl.cert_time_to_seconds(info.not_after)
    except (OSError, ssl.SSLError, ValueError):
        return None
    seconds_left = expires - (time.time() if now is None else now)
    return CertificateStatus(
        names=sorted(info.names), issuer=_issuer(decoded),
        not_after=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
        days_left=int(seconds_left // 86400), server=info.server)
