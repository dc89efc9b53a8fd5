"""The doctor's checks of one app: its program, its bind, its names, its certificate, its files."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from .. import facts as facts_mod
from .. import preflight, verify
from .apps import ManagedApp
from .findings import Diagnosis, ok
from .supervisor import SupervisorDown, process_info

SUPERVISORD_LOG = Path("/var/log/supervisor/supervisord.log")
LOOP_WINDOW = 600.0  # seconds: this many exits in ten minutes is a loop, not bad luck
LOOP_EXITS = 3


def recent_exits(name: str, now: float | None = None, log: Path = SUPERVISORD_LOG) -> int:
    """Unexpected exits of the program in supervisord's log over the last LOOP_WINDOW seconds."""
    try:
        lines = log.read_text(errors="replace").splitlines()[-2000:]
    except OSError:
        return 0
    since, count = (now or time.time()) - LOOP_WINDOW, 0
    pattern = re.compile(rf"^(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ \w+ exited: {re.escape(name)} \(.*not expected\)")
    for line in lines:
        found = pattern.match(line)
        if found and time.mktime(time.strptime(found.group(1), "%Y-%m-%d %H:%M:%S")) >= since:
            count += 1
    return count


def program(app: ManagedApp) -> Diagnosis:
    fix_loop = f"read `piserver-wizard logs {app.name}`, fix the app, then `piserver-wizard restart {app.name}`"
    try:
        info = process_info(app.name)
    except SupervisorDown as error:
        return Diagnosis("error", "supervisor", str(error), "start supervisor: `sudo service supervisor start`", app.name)
    state = info["statename"] if info else "UNKNOWN"
    exits = recent_exits(app.name)
    if state in ("BACKOFF", "FATAL") or exits >= LOOP_EXITS:
        why = info.get("spawnerr") if info else ""
        return Diagnosis("error", "restart-loop", f"{app.name} is restarting in a loop ({state}, {exits} exits in "
                         f"{LOOP_WINDOW / 60:.0f} min{'; ' + why if why else ''})", fix_loop, app.name)
    if state != "RUNNING":
        return Diagnosis("error", "program", f"supervisor: {app.name} is {state}",
                         f"piserver-wizard restart {app.name}", app.name)
    return ok("program", f"supervisor: {app.name} RUNNING", app.name)


def bind(app: ManagedApp) -> Diagnosis:
    address = app.answers.app.bind
    answer = verify.app_answers(address)
    if answer:
        return ok("bind", f"gunicorn answers on {address} ({answer})", app.name)
    return Diagnosis("error", "bind", f"nothing answers HTTP on {address}",
                     f"read `piserver-wizard logs {app.name}`, then `piserver-wizard restart {app.name}`", app.name)


def names(app: ManagedApp) -> list[Diagnosis]:
    if not preflight.network_checks_enabled():
        return [Diagnosis("info", "dns", f"DNS of the names not checked ({preflight.OFFLINE_ENV} is set)", app=app.name)]
    facts = facts_mod.Facts(ip_addresses=facts_mod._ip_addresses())
    found = []
    for domain in app.answers.site.domains:
        try:
            here, addresses = preflight._resolves_here(domain, facts)
        except preflight.NoDns as error:
            return [Diagnosis("info", "dns", f"DNS not reachable ({error}): names not checked", app=app.name)]
        if here:
            found.append(ok("dns", f"{domain} resolves to this machine", app.name))
        else:
            found.append(Diagnosis("warn", "dns", f"{domain} resolves to {', '.join(addresses) or 'nothing'}, "
                                   "not to this machine", "point its DNS record (A/AAAA) at this Pi's public "
                                   "address, or forward ports 80/443 to it", app.name))
    return found


def renewal_test(app: ManagedApp) -> Diagnosis:
    """certbot's dry run against the CA itself; the one check that leaves the machine (skippable)."""
    https = app.answers.https
    server = [] if https.acme_server == "letsencrypt" else ["--server", https.directory_url]
    argv = ["certbot", "renew", "--dry-run", "--cert-name", app.name, "-n", "--no-random-sleep-on-renew", *server]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Diagnosis("error", "renew-dry-run", f"certbot renew --dry-run did not run: {error}", app=app.name)
    if done.returncode == 0:
        return ok("renew-dry-run", "certbot renew --dry-run succeeds", app.name)
    said = (done.stderr or done.stdout).strip().splitlines()
    return Diagnosis("error", "renew-dry-run", f"certbot renew --dry-run fails: {said[-1] if said else done.returncode}",
                     "check that port 80 reaches this nginx and the names resolve here; "
                     "details in /var/log/letsencrypt/letsencrypt.log", app.name)
