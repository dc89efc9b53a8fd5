"""System packages: a dpkg left half-done repaired, the package lists, apache out of the way, what we need in."""

from __future__ import annotations

from .. import dns01
from ..commands import Command
from ..facts import dpkg_interrupted, installed_packages
from ..plan import Step
from .context import Context, all_installed, apt_get, renewal_method
from .notice import PACKAGES as NOTICE_PACKAGES


def needed_packages(ctx: Context) -> tuple[str, ...]:
    packages = ["nginx", "python3-venv", "supervisor", *NOTICE_PACKAGES]
    if ctx.answers.https.enabled and ctx.answers.https.mode == "local-ca":
        from . import localca

        packages += localca.packages(ctx)  # openssl, avahi for .local names, cron where cron renews
    elif ctx.answers.https.enabled:
        packages += certbot_packages(ctx)
        if renewal_method(ctx.answers, ctx.services) == "cron":
            packages.append("cron")
    return tuple(dict.fromkeys(packages))  # once each: cron may be asked for by the notice and the renewal


def certbot_packages(ctx: Context) -> tuple[str, ...]:
    """certbot, its nginx plugin, and the DNS provider's plugin with DNS-01 (python3-certbot-dns-NAME)."""
    https = ctx.answers.https
    dns = (dns01.package(https.dns_provider),) if https.challenge == "dns-01" else ()
    return ("certbot", "python3-certbot-nginx", *dns)


def before_install(ctx: Context) -> list[Step]:
    """What must happen before anything is installed: dpkg repaired, lists fresh, apache gone."""
    steps = []
    if ctx.facts.dpkg_audit:
        steps.append(Step(
            "dpkg-repair", "Repair an interrupted dpkg",
            commands=[Command.of("dpkg", "--configure", "-a", env={"DEBIAN_FRONTEND": "noninteractive"},
                                 timeout=1800)],
            is_done=lambda: not dpkg_interrupted()))
    if ctx.answers.system.update_packages:
        steps.append(Step("apt-update", "Update the package lists",
                          commands=[apt_get("update", "--error-on=any", timeout=900)],
                          is_done=all_installed(needed_packages(ctx)), safe_to_skip=True))
    if ctx.answers.system.remove_apache and ctx.facts.has("apache2"):
        steps.append(Step("apache-purge", "Remove apache2 (it would hold port 80)",
                          commands=[apt_get("purge", "apache2", "apache2-bin", "apache2-data", "apache2-utils")],
                          is_done=lambda: "apache2" not in installed_packages(("apache2",))))
    return steps


def packages(ctx: Context) -> list[Step]:
    """Every package the plan needs in one apt transaction: apt reads its database and dpkg runs its
    triggers (man-db alone takes tens of seconds on a Pi Zero) once, not once per package group."""
    needed = needed_packages(ctx)
    return [Step("packages", f"Install the system packages ({', '.join(needed)})", commands=[apt_get("install", *needed)],
                 is_done=all_installed(needed))]


def services_started(ctx: Context) -> list[Step]:
    """After the one install: nginx and supervisor running, and enabled so a reboot brings them back."""
    services = ctx.services
    return [Step(f"{unit}-start", f"Start {unit}", commands=[services.start(unit)],
                 is_done=lambda unit=unit: services.is_active(unit)) for unit in ("nginx", "supervisor")]
