"""The doctor's checks of the machine, shared by every app: nginx, dpkg, disk, clock, the web ports."""

from __future__ import annotations

import os
import subprocess

from .. import facts as facts_mod
from ..preflight import MIN_FREE_BYTES
from ..units import size_text
from .findings import Diagnosis, ok


def _run(argv: list[str], timeout: float = 120) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return 127, str(error)
    return done.returncode, (done.stdout + done.stderr).strip()


def nginx_config() -> Diagnosis:
    code, output = _run(["nginx", "-t"], timeout=60)
    if code == 0:
        return ok("nginx", "nginx -t: the configuration is valid")
    problem = next((line for line in output.splitlines() if "emerg" in line or "error" in line), output[-300:])
    return Diagnosis("error", "nginx", f"nginx -t fails: {problem}",
                     "fix the file it names (or re-run the wizard's answers to rewrite its own), then "
                     "`sudo nginx -t && sudo systemctl reload nginx`")


def dpkg_health() -> Diagnosis:
    audit = facts_mod.dpkg_interrupted()
    if not audit:
        return ok("dpkg", "dpkg: no package half-installed")
    return Diagnosis("error", "dpkg", f"dpkg is not healthy: {audit.splitlines()[0]}",
                     "sudo dpkg --configure -a")


def disk() -> Diagnosis:
    st = os.statvfs("/")
    free = st.f_bavail * st.f_frsize
    if free >= MIN_FREE_BYTES:
        return ok("disk", f"disk: {size_text(free)} free on /")
    return Diagnosis("warn", "disk", f"only {size_text(free)} free on /: logs and renewals may fail",
                     "free space: `sudo apt-get clean`, `sudo journalctl --vacuum-size=50M`")


def clock() -> Diagnosis:
    synced = facts_mod.clock_synchronised()
    if synced:
        return ok("clock", "clock: synchronised")
    if synced is None:
        return Diagnosis("info", "clock", "clock: cannot tell whether it is synchronised")
    return Diagnosis("warn", "clock", "the clock is not synchronised: certificate checks depend on it",
                     "enable NTP: `sudo timedatectl set-ntp true` (or install systemd-timesyncd)")


def web_ports(ports: tuple[int, ...]) -> list[Diagnosis]:
    """Who holds the web ports; 443 is asked about only when an app serves HTTPS."""
    found = []
    holders = facts_mod.listeners(ports)
    for port in ports:
        owners = sorted({h.process for h in holders if h.port == port})
        others = [o for o in owners if o != "nginx"]
        if others:
            found.append(Diagnosis("error", f"port{port}", f"port {port} is held by {', '.join(others)}, not nginx",
                                   f"stop and disable {others[0]} (`sudo systemctl disable --now {others[0]}`)"))
        elif not owners:
            found.append(Diagnosis("error", f"port{port}", f"nothing listens on port {port}",
                                   "start nginx: `sudo systemctl start nginx` (or `sudo service nginx start`)"))
        else:
            found.append(ok(f"port{port}", f"port {port}: nginx"))
    return found


def machine_findings(https: bool) -> list[Diagnosis]:
    return [nginx_config(), dpkg_health(), disk(), clock(), *web_ports((80, 443) if https else (80,))]
