"""HTTPS for a site on the home network only: the wizard's own CA, avahi for .local names, one renewal job.

The certificate is made by one openssl script (``wizard.localca``): this module writes it, runs it, serves
the result with nginx, and schedules it by the same timer-or-cron rule as certbot's renewal.
"""

from __future__ import annotations

import subprocess

from .. import localca, verify
from ..commands import Command
from ..files import Link, PlannedFile
from ..layout import WEBROOT
from ..plan import Probe, Step
from ..render import render
from . import site
from .context import Context, renewal_method

CRON_DIR = "/etc/cron.d"
SYSTEMD_DIR = "/etc/systemd/system"
AVAHI_PROGRAM = "piserver-wizard-avahi-daemon"


def san(ctx: Context) -> list[str]:
    return localca.subject_names(ctx.answers.site.domains, ctx.facts.ip_addresses,
                                 ctx.answers.site.serve_lan_addresses)


def packages(ctx: Context) -> tuple[str, ...]:
    own, aliases = localca.local_names(ctx.answers.site.domains, ctx.facts.hostname)
    mdns = ("avahi-daemon",) + (("avahi-utils",) if aliases else ()) if own or aliases else ()
    cron = ("cron",) if renewal_method(ctx.answers, ctx.services) == "cron" else ()
    return ("openssl", *mdns, *cron)


def _aliases_file(ctx: Context, aliases: list[str]) -> PlannedFile:
    address = (localca.lan_addresses(ctx.facts.ip_addresses) or ["127.0.0.1"])[0]
    return PlannedFile(f"/etc/supervisor/conf.d/{localca.job_name(ctx.answers.app.name)}.conf",
                       render("avahi-aliases.conf.j2", group=localca.job_name(ctx.answers.app.name),
                              aliases=aliases, address=address))


def mdns(ctx: Context) -> list[Step]:
    """HOSTNAME.local is avahi-daemon's own name; every other .local name is an alias avahi-publish holds."""
    own, aliases = localca.local_names(ctx.answers.site.domains, ctx.facts.hostname)
    if not own and not aliases:
        return []
    services = ctx.services
    files = [_aliases_file(ctx, aliases)] if aliases else []
    if services.systemd:
        commands, running = [services.start("avahi-daemon")], (lambda: services.is_active("avahi-daemon"))
    else:  # Debian ships no init script for avahi-daemon: supervisor runs it
        files.insert(0, PlannedFile(f"/etc/supervisor/conf.d/{AVAHI_PROGRAM}.conf",
                                    render("avahi-daemon-supervisor.conf.j2", program=AVAHI_PROGRAM)))
        # In a session of its own: dbus-daemon stays in the command's session, which ends with its terminal.
        commands = [Command.of("setsid", "--wait", "service", "dbus", "start")]
        running = (lambda: services.is_active("dbus") and verify.supervisor_state(AVAHI_PROGRAM) == "RUNNING")
    names = ", ".join(n for n in ctx.answers.site.domains if n.endswith(".local"))
    return [Step("avahi", f"Answer {names} on the home network (mDNS)", commands=commands, files=files,
                 on_change=[Command.of("supervisorctl", "reread"), Command.of("supervisorctl", "update")],
                 probes=[Probe("avahi-daemon runs", lambda: _avahi_runs())], is_done=running)]


def _avahi_runs() -> tuple[bool, str]:
    """avahi-daemon --check: 0 when a daemon runs (it takes a moment to start under supervisor)."""
    def check() -> tuple[bool, str]:
        try:
            done = subprocess.run(["avahi-daemon", "--check"], capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return False, f"avahi-daemon --check: {error}"
        return done.returncode == 0, "avahi-daemon runs" if done.returncode == 0 else "avahi-daemon is not running"
    return verify.eventually(check, timeout=15)


def certificate(ctx: Context) -> list[Step]:
    """The script first (a file), then its run: the engine runs a step's commands before its files."""
    app, names = ctx.answers.app.name, san(ctx)
    script = localca.renew_script(app)
    out = localca.cert_dir(app)
    text = localca.script_text(app, names, ctx.facts.hostname, ctx.services.reload("nginx").argv, WEBROOT)
    return [Step("local-ca-script", "Write the local certificate authority's script",
                 files=[PlannedFile(script, text, mode=0o700)]),
            Step("local-certificate", f"Issue a certificate for {', '.join(names)} from the local CA",
                 commands=[Command.of(script, "--force", timeout=120)],
                 inputs={"san": names}, is_done=lambda: localca.certificate_current(out, names)),
            *site.tls(ctx)]


def renewal(ctx: Context) -> list[Step]:
    """One job: a systemd timer where certbot's would be one, else one cron line."""
    app, services = ctx.answers.app.name, ctx.services
    name, script = localca.job_name(app), localca.renew_script(app)
    cron_path = f"{CRON_DIR}/{name}"
    if renewal_method(ctx.answers, services) == "timer":
        unit = f"{SYSTEMD_DIR}/{name}"
        files = [PlannedFile(f"{unit}.service", render("local-ca.service.j2", script=script, app=app)),
                 PlannedFile(f"{unit}.timer", render("local-ca.timer.j2", app=app,
                                                     schedule=localca.TIMER_SCHEDULE))]
        return [Step("renewal", f"Renew the local certificate with {name}.timer", files=files,
                     links=[Link(cron_path, None)],
                     on_change=[Command.of("systemctl", "daemon-reload")],
                     commands=[Command.of("systemctl", "enable", "--now", f"{name}.timer")],
                     is_done=lambda: services.timer_active(f"{name}.timer"))]
    schedule = ctx.answers.https.cron_schedule
    cron = PlannedFile(cron_path, render("local-ca-cron.j2", schedule=schedule, script=script))
    return [Step("renewal", f"Renew the local certificate by cron ({schedule})", files=[cron],
                 commands=[services.start("cron")], is_done=lambda: services.is_active("cron"))]


def steps(ctx: Context) -> list[Step]:
    return [*mdns(ctx), *certificate(ctx), *renewal(ctx)]  # its packages: system.needed_packages
