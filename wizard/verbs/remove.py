"""`piserver-wizard remove APP [--dry-run] [--delete-certificate] [--delete-app-files]`.

The plan is printed first; ``--dry-run`` stops there. The steps run through the same engine as an
install (lock, run log, rollback of nginx on a failed ``nginx -t``); then the app's records leave the
state, so a later run of the same answers installs it again from the start.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from .. import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ..engine import Engine
from ..headless import LinePrinter
from ..lock import LockedError
from ..runner import PexpectRunner
from ..services import Services
from ..session import SAVED_ANSWERS, run_lock
from ..state import State, StateError, state_dir
from ..transcript import Transcript, new_log_path
from .apps import ManagedApp, NoSuchApp, managed_apps
from .removal import RemoveOptions, removal_plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to remove")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    parser.add_argument("--delete-certificate", action="store_true", help="also `certbot delete` its certificate")
    parser.add_argument("--delete-app-files", action="store_true",
                        help="also delete the app's folder (code, venv, secret key)")


def print_plan(plan_steps: list, app: ManagedApp, out: TextIO) -> None:
    print(f"Removing {app.name} ({', '.join(app.answers.site.domains)}):", file=out)
    for step in plan_steps:
        print(f"  - {step.title}", file=out)
        for line in step.describe():
            print(f"      {line}", file=out)
    print(f"  kept: the logs in {app.paths.log_dir} and /var/log/nginx/{app.name}.*.log", file=out)


def forget(app: ManagedApp, removed_paths: list[str]) -> None:
    """The app leaves the state: its step records, the hashes of its files, its saved answers."""
    state = State.load()
    state.steps = {k: r for k, r in state.steps.items() if not k.startswith(f"{app.name}/")}
    state.files = {p: h for p, h in state.files.items() if p not in removed_paths}
    state.save()
    app.answers_file.unlink(missing_ok=True)
    last = state_dir() / SAVED_ANSWERS  # the TUI's "resume" must not bring the removed app back
    if last.is_file() and f'name = "{app.name}"' in last.read_text():
        last.unlink()


def _execute(plan, out: TextIO) -> bool:  # noqa: ANN001 - a Plan
    transcript = Transcript(new_log_path())
    printer = LinePrinter(out, verbose=False)

    def emit(event: object) -> None:
        transcript(event)
        printer(event)

    try:
        result = Engine(plan, PexpectRunner(emit, log=transcript), State.load(), emit).run()
    finally:
        transcript.close()
    if not result.ok:
        print(f"\nStep '{plan.step(result.failed_step or '').title}' failed: {result.message}", file=out)
        if result.tail:
            print("Last output:\n  " + result.tail.replace("\n", "\n  "), file=out)
        print(f"Full log: {transcript.path}", file=out)
    return result.ok


def _removed_paths(plan) -> list[str]:  # noqa: ANN001 - a Plan
    return [link.path for step in plan.steps for link in step.links if link.target is None]


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        apps = managed_apps()
        (app,) = managed_apps(args.app)
    except NoSuchApp as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    others = [a for a in apps if a.name != app.name]
    options = RemoveOptions(args.delete_certificate, args.delete_app_files)
    plan = removal_plan(app, others, options, Services.detect())
    print_plan(plan.steps, app, out)
    if args.dry_run:
        print("Dry run: nothing was changed.", file=out)
        return EXIT_OK
    lock = run_lock()
    try:
        lock.acquire()
    except LockedError as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if not _execute(plan, out):
            print(f"\n{app.name} is partly removed; fix the cause and run the same command again.", file=out)
            return EXIT_FAILED
        forget(app, _removed_paths(plan))
    except StateError as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        lock.release()
    print(f"\n{app.name} is removed; `piserver-wizard --answers FILE` with its answers installs it again.", file=out)
    return EXIT_OK
