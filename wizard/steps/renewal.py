"""Exactly one renewal job: certbot.timer under systemd, else one cron line (Debian's own set aside)."""

from __future__ import annotations

from ..commands import Command
from ..files import Link, PlannedFile
from ..layout import CRON_FILE, DEBIAN_CRON_FILE
from ..plan import Step
from ..render import render
from .context import Context, renewal_method


def renewal(ctx: Context) -> list[Step]:
    services, schedule = ctx.services, ctx.answers.https.cron_schedule
    if renewal_method(ctx.answers, services) == "timer":
        return [Step("renewal", "Renew certificates with certbot.timer",
                     commands=[Command.of("systemctl", "enable", "--now", "certbot.timer")],
                     links=[Link(CRON_FILE, None)], is_done=lambda: services.timer_active())]
    commands = [services.start("cron")]
    if services.systemd:
        commands.append(Command.of("systemctl", "disable", "--now", "certbot.timer"))
    cron = PlannedFile(CRON_FILE, render("certbot-cron.j2", schedule=schedule))
    return [Step(
        "renewal", f"Renew certificates by cron ({schedule})",
        # cron itself came in the one apt transaction (system.packages)
        commands=commands, files=[cron], links=[Link(DEBIAN_CRON_FILE, None)],
        is_done=lambda: services.is_active("cron") and not services.timer_active())]
