"""How an app's certificate gets renewed, and whether that job is in place and when it runs next.

The method follows the answers as the plan does (``auto`` is the timer under systemd, cron otherwise);
what is read here is the machine, so a timer someone stopped or a cron line someone deleted shows.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..answers import Answers
from ..layout import CRON_FILE
from ..services import Services
from ..steps.context import renewal_method


@dataclass(frozen=True)
class RenewalStatus:
    method: str  # "timer" or "cron"
    in_place: bool
    next_run: str  # the timer's next elapse, or the cron schedule
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _systemctl_show(unit: str, prop: str) -> str:
    try:
        return subprocess.run(["systemctl", "show", unit, f"--property={prop}", "--value"], capture_output=True,
                              text=True, timeout=15, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _timer(services: Services) -> RenewalStatus:
    if not services.timer_active():
        return RenewalStatus("timer", False, "", "certbot.timer is not active")
    next_run = _systemctl_show("certbot.timer", "NextElapseUSecRealtime")
    return RenewalStatus("timer", True, next_run, f"certbot.timer is active, next run {next_run or 'unknown'}")


def cron_line(path: str = CRON_FILE) -> str | None:
    """The job line of the wizard's cron file (the one that runs `certbot renew`), if it is there."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((line for line in lines if "certbot renew" in line and not line.lstrip().startswith("#")), None)


def _cron(services: Services) -> RenewalStatus:
    line = cron_line()
    if line is None:
        return RenewalStatus("cron", False, "", f"no `certbot renew` line in {CRON_FILE}")
    schedule = " ".join(line.split()[:5])
    if not services.is_active("cron"):
        return RenewalStatus("cron", False, schedule, "the cron service is not running")
    return RenewalStatus("cron", True, schedule, f"cron `{schedule}` in {CRON_FILE}")


def renewal_status(answers: Answers, services: Services) -> RenewalStatus | None:
    """None for an app without HTTPS: nothing to renew."""
    if not answers.https.enabled:
        return None
    if renewal_method(answers, services) == "timer":
        return _timer(services)
    return _cron(services)
