"""The doctor's checks of an app's HTTPS: days left, the renewal job, certbot's last renewal try, and the
files the wizard wrote that someone edited since (their hashes are in the state)."""

from __future__ import annotations

from pathlib import Path

from ..files import hash_of
from ..layout import CRON_FILE, DEPLOY_HOOK
from ..services import Services
from ..state import State
from .apps import ManagedApp
from .certificate import certificate_status
from .findings import Diagnosis, ok
from .renewal import renewal_status
from .status import EXPIRY_WARNING_DAYS

LETSENCRYPT_LOGS = Path("/var/log/letsencrypt")


def certificate(app: ManagedApp) -> Diagnosis:
    cert = certificate_status(app.name)
    renew = f"sudo certbot renew --cert-name {app.name}"
    if cert is None:
        return Diagnosis("error", "certificate", f"no certificate {app.name} in /etc/letsencrypt",
                         f"re-run the wizard: piserver-wizard --answers {app.answers_file}", app.name)
    if cert.days_left < EXPIRY_WARNING_DAYS:
        return Diagnosis("error", "certificate", f"the certificate expires in {cert.days_left} days "
                         f"({cert.not_after})", renew, app.name)
    return ok("certificate", f"certificate: {cert.days_left} days left, from {cert.issuer}", app.name)


def renewal_job(app: ManagedApp, services: Services) -> Diagnosis:
    status = renewal_status(app.answers, services)
    if status is None or status.in_place:
        return ok("renewal", f"renewal: {status.detail if status else 'no HTTPS'}", app.name)
    fix = ("sudo systemctl enable --now certbot.timer" if status.method == "timer"
           else f"re-run the wizard: piserver-wizard --answers {app.answers_file} (it writes {CRON_FILE})")
    return Diagnosis("error", "renewal", f"no renewal job: {status.detail}", fix, app.name)


def last_renewal(app: ManagedApp, logs: Path = LETSENCRYPT_LOGS) -> Diagnosis:
    """certbot's newest log that names this certificate: did that renewal try fail?"""
    try:
        files = sorted(logs.glob("letsencrypt.log*"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        files = []
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if f"renewal/{app.name}.conf" not in text and f"certificate {app.name}" not in text:
            continue
        if f"Failed to renew certificate {app.name}" in text:
            return Diagnosis("error", "renewal-failed", f"certbot's last renewal try failed (see {path})",
                             f"read {path}, fix the cause, then `sudo certbot renew --cert-name {app.name}`", app.name)
        return ok("renewal-failed", "certbot's last renewal try did not fail", app.name)
    return Diagnosis("info", "renewal-failed", "certbot has not tried to renew yet", app=app.name)


def edited_files(paths: list[str], state: State, app: str = "") -> list[Diagnosis]:
    """Files the wizard wrote whose content changed since: a re-run would put the wizard's version back."""
    found = []
    for path in paths:
        recorded = state.files.get(path)
        if recorded is None:
            continue
        now = hash_of(path)
        if now != recorded:
            what = "deleted" if now is None else "edited"
            found.append(Diagnosis("warn", "edited", f"{path} was {what} since the wizard wrote it",
                                   "keep the change in the answers (a re-run puts the wizard's version back): "
                                   "piserver-wizard --answers FILE", app))
    if not found:
        found.append(ok("edited", f"{len([p for p in paths if p in state.files])} files as the wizard wrote them", app))
    return found


def app_files(app: ManagedApp) -> list[str]:
    p = app.paths
    return [p.gunicorn_conf, p.supervisor_conf, p.site_available, p.tmpfiles]


SHARED_FILES = [CRON_FILE, DEPLOY_HOOK]
