"""The worker processes under a gunicorn arbiter, read from /proc.

A graceful reload keeps the arbiter (supervisor's process) and replaces every worker; the worker PIDs are
how the restart verb knows the new code serves, not only that a signal was sent.
"""

from __future__ import annotations

import os
from pathlib import Path


def children(pid: int) -> set[int]:
    """Direct children of ``pid``; /proc/PID/task/*/children when the kernel has it, else a scan."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        found = {int(word) for task in tasks.iterdir() for word in (task / "children").read_text().split()}
        return found
    except FileNotFoundError:
        return _scan(pid)
    except (OSError, ValueError):
        return set()


def _scan(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.add(int(entry))
    return found


def option(pid: int, flag: str) -> str | None:
    """The value after ``flag`` on the process's command line (``--bind`` of a gunicorn arbiter), if any."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    return next((words[i + 1] for i, word in enumerate(words[:-1]) if word == flag), None)
