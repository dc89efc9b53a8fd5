"""The login notice: one line for pam_motd when something is wrong, nothing when all is well.

`status --write-notice` (run by cron every few minutes) writes the line into a file; the motd script
only prints that file, so an SSH login never waits for supervisor, nginx or a certificate check.
"""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomic
from ..state import state_dir

MOTD_NAME = "90-piserver-wizard"
MOTD_SCRIPT = f"/etc/update-motd.d/{MOTD_NAME}"
STATUS_CRON = "/etc/cron.d/piserver-wizard-status"
SCHEDULE = "*/5 * * * *"


def notice_file() -> Path:
    return state_dir() / "notice"


def notice_line(problems: dict[str, list[str]]) -> str:
    """``problems`` maps each app with a problem to what is wrong; empty when every app is well."""
    if not problems:
        return ""
    parts = [f"{name} ({what[0].splitlines()[0][:80]})" for name, what in sorted(problems.items())]
    return (f"piserver-wizard: {len(parts)} app(s) need attention: {'; '.join(parts)}. "
            "Run: sudo piserver-wizard status\n")


def write_notice(problems: dict[str, list[str]], path: Path | None = None) -> None:
    write_atomic(path or notice_file(), notice_line(problems).encode(), mode=0o644)
