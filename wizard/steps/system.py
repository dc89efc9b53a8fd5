"""System packages: a dpkg left half-done repaired, the package lists, apache out of the way, what we need in."""

from __future__ import annotations

from ..commands import Command
from ..facts import dpkg_interrupted, installed_packages
from ..plan import Step
from .context import Context, all_installed, apt_get, renewal_method


def needed_packages(ctx: Context) -> tuple[str, ...]:
    packages = ["nginx", "python3-venv", "supervisor"]
    if ctx.answers.https.enabled:
        packages += ["certbot", "python3-certbot-nginx"]
        if renewal_method(ctx.answers, ctx.services) == "cron":
            packages.append("cron")
    return tuple(packages)


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


def nginx(ctx: Context) -> list[Step]:
    services = ctx.services
    return [Step("nginx-install", "Install and start nginx",
                 commands=[apt_get("install", "nginx"), services.start("nginx")],
                 is_done=lambda: all_installed(("nginx",))() and services.is_active("nginx"))]


def python_venv(ctx: Context) -> list[Step]:
    return [Step("python-venv", "Install Python's venv module", commands=[apt_get("install", "python3-venv")],
                 is_done=all_installed(("python3-venv",)))]


def supervisor(ctx: Context) -> list[Step]:
    services = ctx.services
    return [Step("supervisor-install", "Install and start supervisor",
                 commands=[apt_get("install", "supervisor"), services.start("supervisor")],
                 is_done=lambda: all_installed(("supervisor",))() and services.is_active("supervisor"))]


def certbot(ctx: Context) -> list[Step]:
    return [Step("certbot-install", "Install certbot and its nginx plugin",
                 commands=[apt_get("install", "certbot", "python3-certbot-nginx")],
                 is_done=all_installed(("certbot", "python3-certbot-nginx")))]
