"""`piserver-wizard doctor [APP] [--skip-renewal-test] [--json]`: deeper checks than status, each finding
with a level and the fix in one line. Exit 1 when a finding is a warning or an error, else 0."""

from __future__ import annotations

import argparse
import json
import sys

from .. import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ..services import Services
from ..state import State
from . import app_checks, cert_checks
from .apps import ManagedApp, NoSuchApp, managed_apps
from .findings import Diagnosis
from .machine_checks import machine_findings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", nargs="?", help="only this app (the machine's checks run in any case)")
    parser.add_argument("--skip-renewal-test", action="store_true",
                        help="do not run `certbot renew --dry-run` (it talks to the CA)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def app_findings(app: ManagedApp, state: State, services: Services, renewal_test: bool) -> list[Diagnosis]:
    found = [app_checks.program(app), app_checks.bind(app), *app_checks.names(app)]
    if app.answers.https.enabled:
        found += [cert_checks.certificate(app), cert_checks.renewal_job(app, services),
                  cert_checks.last_renewal(app)]
        if renewal_test:
            found.append(app_checks.renewal_test(app))
    found += cert_checks.edited_files(cert_checks.app_files(app), state, app.name)
    return found


def diagnose(only: str | None = None, renewal_test: bool = True) -> list[Diagnosis]:
    apps, state, services = managed_apps(only), State.load(), Services.detect()
    found = machine_findings(https=any(a.answers.https.enabled for a in apps))
    found += [d for d in cert_checks.edited_files(cert_checks.SHARED_FILES, state) if d.is_problem]
    for app in apps:
        found += app_findings(app, state, services, renewal_test)
    return found


def run(args: argparse.Namespace) -> int:
    try:
        found = diagnose(args.app, renewal_test=not args.skip_renewal_test)
    except NoSuchApp as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    problems = [d for d in found if d.is_problem]
    if args.json:
        print(json.dumps({"healthy": not problems, "findings": [d.to_json() for d in found]}, indent=2))
    else:
        print("\n".join(d.line() for d in found))
        print(f"\n{len(problems)} problem(s) found." if problems else "\nNo problem found.")
    return EXIT_FAILED if problems else EXIT_OK
