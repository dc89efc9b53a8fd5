"""The app user's commands: dropped to the user's ids, output through a pipe, nothing of root's inherited.

Whoever runs code as the app user (the web app, if it is compromised) must not reach anything of root's
through these commands: not the run log's descriptor (a daemon keeping it could forge lines or fill
/var/log), not a terminal whose output root reads for questions, not root's environment. So the command
gets /dev/null as stdin, a pipe as stdout and stderr, a session of its own, the fixed environment of
``Command.environment``, and the user's own ids and groups (``setgroups``/``setresgid``/``setresuid``,
done by ``subprocess`` in the child before it executes anything).
"""

from __future__ import annotations

import codecs
import os
import pwd
import select
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Callable

from .commands import Command, Privilege

if TYPE_CHECKING:
    from .runner import CommandResult

DRAIN_SECONDS = 0.5  # after the command ends: what it wrote last, but never a daemon's endless pipe


def _launch(command: Command, is_root: bool) -> subprocess.Popen:
    options: dict = {}
    if is_root:
        entry = pwd.getpwnam(command.as_user or "")
        options = {"user": entry.pw_uid, "group": entry.pw_gid,
                   "extra_groups": os.getgrouplist(entry.pw_name, entry.pw_gid)}
    return subprocess.Popen(
        Privilege(is_root).argv(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, env=command.environment() if is_root else {"PATH": "/usr/bin:/bin"},
        cwd=command.cwd or "/", start_new_session=True, close_fds=True, **options)


def run_as_user(command: Command, is_root: bool, show: Callable[[str], None],
                cancelled: Callable[[], bool]) -> "CommandResult":
    """Run it, handing its output to ``show`` as it comes; the result as the pty runner gives it."""
    from .runner import CommandResult, last_lines

    started = time.monotonic()
    child = _launch(command, is_root)
    assert child.stdout is not None
    fd = child.stdout.fileno()
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    tail, why, ended_at = "", "", None
    while True:
        ready, _, _ = select.select([fd], [], [], 0.1)
        data = os.read(fd, 1 << 16) if ready else b""
        if data:
            text = decoder.decode(data)
            show(text)
            tail = (tail + text)[-4000:]
        now = time.monotonic()
        if cancelled():
            why = "cancelled"
        elif now - started > command.timeout:
            why = "timeout"
        if why or (ready and not data):
            break
        if child.poll() is not None:
            ended_at = ended_at or now
            if now - ended_at > DRAIN_SECONDS or not ready:
                break
    _end_group(child)
    child.stdout.close()
    code = child.wait()
    code = code if code >= 0 else 128 - code
    return CommandResult(code, time.monotonic() - started, last_lines(tail), why == "timeout",
                         "cancelled" if why == "cancelled" else "")


def _end_group(child: subprocess.Popen) -> None:
    """Whatever the command left behind in its process group goes with it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            child.wait(timeout=3)
        except subprocess.TimeoutExpired:
            continue
        return
