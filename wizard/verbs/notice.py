"""The login notice: one line for pam_motd when something is wrong, nothing when all is well.

`status --write-notice` (run by cron every few minutes) writes the line into a file; the motd script
only prints that file, so an SSH login never waits for supervisor, nginx or a certificate check. The
install plan puts the script and the cron job in place; removing the last app takes them away.
"""

from __future__ import annotations

import shlex
import sys
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


def refresh_argv() -> list[str]:
    """The wizard that runs now refreshes the notice later: its own interpreter, wherever it is installed."""
    return [sys.executable, "-I", "-m", "wizard", "status", "--write-notice"]  # -I: no module from the cwd


def rendered_files() -> dict[str, tuple[str, int]]:
    """path -> (content, mode) of the motd script and the cron job, rendered from templates/."""
    from ..render import render

    command = " ".join(shlex.quote(a) for a in refresh_argv())
    return {
        MOTD_SCRIPT: (render("motd.sh.j2", notice_file=shlex.quote(str(notice_file())),
                             refresher=f"{STATUS_CRON}, {SCHEDULE}"), 0o755),
        STATUS_CRON: (render("status-cron.j2", motd_name=MOTD_NAME, state_dir=str(state_dir()),
                             schedule=SCHEDULE, command=command), 0o644),
    }
