"""Checks before anything runs: refuse what would surely fail or do harm, warn about what might.

Each finding says what was seen and what to do. Refusals that are safe to override (the user knows the
port is theirs, the disk is enough after all) go on with ``--force``; the rest are fixed by the plan itself
(an interrupted dpkg is repaired as its first step).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .answers import Answers
from .facts import Facts
from .release import SUPPORTED_WORDS
from .schema import advice
from .units import size_text

MIN_FREE_BYTES = 300 * 1024 * 1024
OFFLINE_ENV = "PISERVER_WIZARD_OFFLINE"


class Level(StrEnum):
    """How much a finding weighs: REFUSE stops the run unless --force; WARN and INFO are only said."""

    REFUSE = "refuse"
    WARN = "warn"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str
    message: str


class NoDns(Exception):
    """The resolver cannot be reached: we know nothing about the name, so we say nothing about it."""


def _resolves_here(domain: str, facts: Facts) -> tuple[bool, list[str]]:
    try:
        infos = socket.getaddrinfo(domain, 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            return False, []
        raise NoDns(str(error)) from None
    except OSError as error:
        raise NoDns(str(error)) from None
    addresses = sorted({info[4][0] for info in infos})
    local = set(facts.ip_addresses) | {"127.0.0.1", "::1"}
    return any(a in local for a in addresses), addresses


def network_checks_enabled() -> bool:
    return os.environ.get(OFFLINE_ENV, "") in ("", "0")


def over_plain_ssh(environ: Mapping[str, str] = os.environ) -> bool:
    """Logged in over SSH and not inside tmux or screen: a dropped connection ends the run with it."""
    env = environ
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY")) and not (env.get("TMUX") or env.get("STY"))


def session(facts: Facts, environ: Mapping[str, str] = os.environ) -> list[Finding]:
    """What the way the wizard was started tells (the terminal, the user): both front ends say these."""
    found: list[Finding] = []
    if over_plain_ssh(environ):
        found.append(Finding(Level.INFO, "ssh", "over SSH without tmux or screen: a dropped connection stops the "
                                                "run (a re-run resumes); consider starting it inside tmux"))
    if not facts.is_root:
        found.append(Finding(Level.WARN, "root", "not running as root: the install writes to /etc and /var; "
                                                 "start it with 'sudo piserver-wizard'"))
    return found


def machine(facts: Facts, *, may_hold_ports: tuple[str, ...] = ("nginx",)) -> list[Finding]:
    """What the machine alone tells, before any answer: the welcome screen shows these."""
    found: list[Finding] = []
    if facts.os_release is not None and not facts.os_release.supported:
        found.append(Finding(Level.REFUSE, "os", f"this is {facts.os_release.describe()}; piserver-wizard is made "
                                             f"for {SUPPORTED_WORDS} (--force tries anyway)"))
    if facts.dpkg_audit:
        found.append(Finding(Level.INFO, "dpkg", "dpkg was interrupted; the first step repairs it (dpkg --configure -a)"))
    if facts.free_disk_bytes and facts.free_disk_bytes < MIN_FREE_BYTES:
        found.append(Finding(Level.REFUSE, "disk", f"only {size_text(facts.free_disk_bytes)} free on /; "
                                               f"the install needs about {size_text(MIN_FREE_BYTES)}"))
    for port in (80, 443):
        for owner in facts.owners_of(port):
            if owner not in may_hold_ports:
                found.append(Finding(Level.REFUSE, f"port{port}",
                                     f"port {port} is held by {owner}, not nginx: nginx could not serve the site "
                                     f"(stop {owner}, or use --force if it will be gone)"))
    return found


def wizard_install_problem() -> Finding | None:
    """Root runs the wizard's own code: if another user can change it, that user can make root run theirs
    (an app user with the wizard in their home: code execution in the web app would be root next run)."""
    from . import boundary

    folder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        os.close(boundary.trusted_dir(folder))
    except (boundary.Unsafe, OSError) as error:
        return Finding("warn", "install", f"the wizard is installed where another user can change it ({error}); "
                                          "install it root-owned, e.g. in /opt/piserver-wizard (see README)")
    return None


def _no_port80_needed(finding: Finding) -> Finding:
    """With DNS-01 or the local CA no authority connects to port 80: another program there is a warning."""
    if finding.code != "port80" or finding.level != Level.REFUSE:
        return finding
    return Finding(Level.WARN, "port80", f"{finding.message}; the certificate does not need port 80 here, but "
                                     "plain HTTP (and its redirect) will not be served")


def shared_with_other_apps(answers: Answers, facts: Facts) -> list[Finding]:
    """Another app of this wizard's on the machine with the same address or one of the same names: its
    gunicorn would keep the address (this app's could not start, and nginx would send this app's visitors
    to the other app), and nginx answers a name shared by two sites from one only (the file first in
    sites-enabled; `nginx -t` only warns of a "conflicting server name")."""
    found: list[Finding] = []
    names = {name.lower() for name in answers.site.domains}
    for other in facts.managed_apps:
        if other.name == answers.app.name:
            continue
        if other.bind == answers.app.bind:
            found.append(Finding(Level.REFUSE, "app.bind", f"app.bind: {other.bind} is already the address of the "
                                 f"app {other.name} on this Pi: give this app a port of its own"))
        for shared in [d for d in other.domains if d.lower() in names]:
            found.append(Finding(Level.REFUSE, "site.domains", f"site.domains: {shared} is already served by the "
                                 f"app {other.name} on this Pi: take it out of one app's domains (or remove "
                                 f"that app: sudo piserver-wizard remove {other.name})"))
    return found


def check(answers: Answers, facts: Facts) -> list[Finding]:
    apache_goes = answers.system.remove_apache and facts.has("apache2")
    found = machine(facts, may_hold_ports=("nginx", "apache2", "httpd") if apache_goes else ("nginx",))
    install = wizard_install_problem()
    if install is not None:
        found.append(install)
    found += shared_with_other_apps(answers, facts)
    if facts.has("apache2") and not answers.system.remove_apache:
        found.append(Finding(Level.WARN, "apache", "apache2 is installed and you chose to keep it (remove_apache = "
                                                "false): it must not hold port 80 or 443, or nginx cannot start"))
    if answers.https.enabled:
        if time.gmtime().tm_year < 2024:
            found.append(Finding(Level.REFUSE, "clock", f"the clock says {time.strftime('%Y-%m-%d')}: certificates "
                                                    "would be refused; set the time (a Pi has no real-time clock)"))
        elif facts.clock_synced is False:
            found.append(Finding(Level.WARN, "clock", "the clock is not synchronised (NTP); if certificate requests "
                                                  "fail, check the time first"))
    for dotted, message in advice(answers, has_systemd=facts.systemd):
        found.append(Finding(Level.WARN, dotted, f"{dotted}: {message}"))
    no_http01 = answers.https.mode == "local-ca" or answers.https.challenge == "dns-01"
    if answers.https.enabled and no_http01:
        found = [_no_port80_needed(f) for f in found]
    if not network_checks_enabled():
        found.append(Finding(Level.INFO, "offline", f"checks that need the internet are skipped ({OFFLINE_ENV} is set)"))
    elif answers.https.enabled and not no_http01:
        for domain in answers.site.domains:
            try:
                here, addresses = _resolves_here(domain, facts)
            except NoDns as error:
                found.append(Finding(Level.INFO, "dns", f"DNS is not reachable ({error}): the domain check is skipped"))
                break
            if not addresses:
                found.append(Finding(Level.WARN, "dns", f"{domain} does not resolve (yet): the certificate request "
                                                    "will fail until its DNS points at this Pi"))
            elif not here:
                public = [a for a in addresses if ipaddress.ip_address(a).is_global]
                found.append(Finding(Level.WARN, "dns", f"{domain} resolves to {', '.join(addresses)}, not to this Pi"
                                     + (" (fine if your router forwards ports 80 and 443 here)" if public else "")))
    return found
