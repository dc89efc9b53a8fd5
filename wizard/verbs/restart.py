"""`piserver-wizard restart APP [--hard]`: new workers with the app's current code, no request dropped.

The default is gunicorn's graceful reload: supervisor sends HUP to the arbiter, which re-reads its config
file (workers live there, not on the command line), starts new workers and lets the old ones finish
their requests; the listening socket never closes, so nginx never sees a refused connection. The arbiter's
PID stays, every worker's PID changes. ``--hard`` is supervisor's stop-then-start, for what a reload does
not pick up (a new gunicorn version, the supervisor program itself); it drops requests while it runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import EXIT_FAILED, EXIT_OK, EXIT_USAGE, verify
from .apps import ManagedApp, NoSuchApp, managed_apps
from .processes import children, option
from .status import url_checks
from .supervisor import SupervisorDown, process_info, proxy, signal

RELOAD_TIMEOUT = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to restart")
    parser.add_argument("--hard", action="store_true",
                        help="stop then start (drops requests meanwhile); the default reloads gracefully")
    parser.add_argument("--if-running", action="store_true",
                        help="reload only a program that runs; else do nothing (what a re-run's plan calls)")


def _workers_replaced(pid: int, old: set[int]) -> bool:
    """New workers serve and none of the old ones is left (they finish their requests first)."""
    now = children(pid)
    return bool(now) and not now & old


def reload(app: ManagedApp, timeout: float = RELOAD_TIMEOUT) -> tuple[bool, str]:
    """HUP the arbiter, then wait until none of the old workers is left and the app answers."""
    info = process_info(app.name)
    if info is None or info["statename"] != "RUNNING":
        return start(app)
    pid, old = int(info["pid"]), children(int(info["pid"]))
    signal(app.name, "HUP")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _workers_replaced(pid, old) and verify.app_answers(app.answers.app.bind):
            new = sorted(children(pid))
            return True, (f"{app.name}: reloaded gracefully (arbiter {pid}; workers "
                          f"{' '.join(map(str, sorted(old)))} -> {' '.join(map(str, new))})")
        time.sleep(0.25)
    return False, f"{app.name}: the old workers of {pid} did not all leave within {timeout:.0f} s"


def start(app: ManagedApp, *, hard: bool = False) -> tuple[bool, str]:
    """supervisor's own stop (when hard) and start; startProcess waits for startsecs itself."""
    rpc = proxy().supervisor
    info = process_info(app.name)
    if info is None:
        return False, f"supervisor has no program {app.name}: run the wizard with {app.answers_file}"
    if hard and info["statename"] in ("RUNNING", "STARTING"):
        rpc.stopProcess(app.name, True)
    rpc.startProcess(app.name, True)
    ok, message = verify.wait_serving(app.name, app.answers.app.bind, _log_dir(app))
    return ok, message


def _log_dir(app: ManagedApp) -> Path:
    return Path(app.paths.log_dir)


def _not_running(name: str) -> bool:
    info = process_info(name)
    return info is None or info["statename"] != "RUNNING"


def bind_changing(app: ManagedApp) -> str | None:
    """Why a run's reload would be wasted: the arbiter listens elsewhere than the answers say, so the
    supervisor program changes and supervisor restarts it in the next step (a HUP keeps the old socket,
    and the new bind would never answer)."""
    info = process_info(app.name)
    running = option(int(info["pid"]), "--bind") if info and info.get("pid") else None
    if running is None or running == app.answers.app.bind:
        return None
    return f"{app.name} moves from {running} to {app.answers.app.bind}: supervisor restarts it (no reload)"


def run(args: argparse.Namespace) -> int:
    try:
        if args.if_running and _not_running(args.app):
            print(f"{args.app} is not running: nothing to reload (supervisor starts it)")
            return EXIT_OK
        (app,) = managed_apps(args.app)
        if args.if_running and (moving := bind_changing(app)):
            print(moving)
            return EXIT_OK
    except NoSuchApp as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SupervisorDown as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        ok, message = start(app, hard=True) if args.hard else reload(app)
    except (SupervisorDown, OSError) as error:
        ok, message = False, str(error)
    print(message)
    if not ok or args.if_running:  # within a run, the plan's own checks follow (the site may be changing)
        return EXIT_OK if ok else EXIT_FAILED
    urls = url_checks(app)  # the run's own final check: through nginx on 127.0.0.1, Host and SNI set
    for url in urls:
        print(f"  {'ok  ' if url['ok'] else 'FAIL'} {url['detail']}")
    return EXIT_OK if all(u["ok"] for u in urls) else EXIT_FAILED
