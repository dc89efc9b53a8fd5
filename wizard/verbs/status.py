"""`piserver-wizard status [APP] [--json]`: is each app serving, and will it still be next month?

Exit 0 when every app is well, 1 when anything is wrong, 2 for an unknown app, so the command serves as
a monitoring check as it is. The JSON keys are documented in README.md ("status"); new keys may be added,
existing ones keep their meaning.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from .. import EXIT_FAILED, EXIT_OK, EXIT_USAGE, verify
from ..services import Services
from ..state import State
from ..steps.context import SAMPLE_TEXT
from .apps import ManagedApp, NoSuchApp, managed_apps
from .certificate import certificate_status
from .notice import write_notice
from .renewal import renewal_status
from .supervisor import SupervisorDown, process_info, uptime

EXPIRY_WARNING_DAYS = 14


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", nargs="?", help="only this app (default: every app the wizard manages)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines (keys: see README)")
    parser.add_argument("--write-notice", action="store_true",
                        help="also refresh the one-line login notice (what the cron job runs)")


@dataclass
class AppStatus:
    name: str
    problems: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "healthy": not self.problems, "problems": self.problems, **self.data}


def _program(app: ManagedApp, status: AppStatus) -> None:
    try:
        info = process_info(app.name)
    except SupervisorDown as error:
        info, status.data["supervisor_error"] = None, str(error)
    state = info["statename"] if info else "UNKNOWN"
    status.data.update(state=state, pid=(info or {}).get("pid") or None,
                       uptime_seconds=uptime(info) if info else None)
    if state != "RUNNING":
        status.problems.append(f"supervisor: {app.name} is {state}"
                               + (f" ({info['spawnerr']})" if info and info.get("spawnerr") else ""))


def url_checks(app: ManagedApp) -> list[dict[str, Any]]:
    """Each URL of the app fetched as the run's final check does: 127.0.0.1, the name as Host and SNI."""
    answers, urls = app.answers, []
    text = SAMPLE_TEXT if answers.app.source == "sample" else None
    redirect = answers.https.enabled and answers.https.redirect
    for name in answers.site.domains:
        ok, detail = verify.check_http(name, expect_redirect=redirect, expect_text=text, timeout=5)
        urls.append({"url": f"http://{name}/", "ok": ok, "detail": detail})
        if answers.https.enabled:
            ok, detail = verify.check_https(name, app.name, expect_text=text, timeout=5)
            urls.append({"url": f"https://{name}/", "ok": ok, "detail": detail})
    return urls


def _urls(app: ManagedApp, status: AppStatus) -> None:
    urls = url_checks(app)
    status.data["urls"] = urls
    status.problems += [u["detail"] for u in urls if not u["ok"]]


def _certificate(app: ManagedApp, status: AppStatus, services: Services) -> None:
    cert = certificate_status(app.name) if app.answers.https.enabled else None
    status.data["certificate"] = cert.to_json() if cert else None
    if app.answers.https.enabled and cert is None:
        status.problems.append(f"no certificate {app.name} in /etc/letsencrypt")
    elif cert is not None and cert.days_left < EXPIRY_WARNING_DAYS:
        status.problems.append(f"the certificate expires in {cert.days_left} days ({cert.not_after})")
    renewal = renewal_status(app.answers, services)
    status.data["renewal"] = renewal.to_json() if renewal else None
    if renewal is not None and not renewal.in_place:
        status.problems.append(f"renewal: {renewal.detail}")


def _last_run(app: ManagedApp, status: AppStatus, state: State) -> None:
    """The newest step record tells how the last run ended: verify "done", else the step it stopped at
    (older records of steps a later plan no longer has say nothing about the last run)."""
    records = [(r.finished, key.split("/", 1)[1], r) for key, r in state.steps.items()
               if key.startswith(f"{app.name}/")]
    finished, step, record = max(records, key=lambda item: item[0], default=(0.0, "", None))
    result = "never" if record is None else "done" if record.status == "done" else record.status
    status.data["last_run"] = {
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(finished)) if finished else None,
        "result": result, "stopped_at": step if result not in ("done", "never") else None}
    status.data["answers_file"] = str(app.answers_file)
    if result not in ("done", "never"):
        status.problems.append(f"the last run stopped at step {step} ({result}): fix it, then run "
                               f"piserver-wizard --answers {app.answers_file}")


def app_status(app: ManagedApp, state: State, services: Services) -> AppStatus:
    status = AppStatus(app.name)
    _program(app, status)
    _urls(app, status)
    _certificate(app, status, services)
    _last_run(app, status, state)
    return status


def collect(only: str | None = None) -> list[AppStatus]:
    state, services = State.load(), Services.detect()
    return [app_status(app, state, services) for app in managed_apps(only)]


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(seconds, 86400)
    return (f"{days}d " if days else "") + time.strftime("%H:%M:%S", time.gmtime(rest))


def text_lines(status: AppStatus) -> list[str]:
    """The human view: one headline per app, then the facts a person checks first."""
    d = status.data
    lines = [f"{status.name}: {'ok' if not status.problems else 'PROBLEM'}  "
             f"({d['state']}, pid {d['pid'] or '-'}, up {_duration(d['uptime_seconds'])})"]
    lines += [f"  {'ok  ' if u['ok'] else 'FAIL'} {u['url']}" for u in d["urls"]]
    cert = d["certificate"]
    if cert:
        lines.append(f"  certificate: {', '.join(cert['names'])} from {cert['issuer']}, "
                     f"{cert['days_left']} days left (until {cert['not_after']})")
    if d["renewal"]:
        lines.append(f"  renewal: {d['renewal']['detail']}")
    run = d["last_run"]
    lines.append(f"  last run: {run['result']} {run['finished'] or ''}  answers: {d['answers_file']}")
    lines += [f"  problem: {p.splitlines()[0]}" for p in status.problems]
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        statuses = collect(args.app)
    except NoSuchApp as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    healthy = all(not s.problems for s in statuses)
    if args.write_notice and args.app is None:
        write_notice({s.name: s.problems for s in statuses if s.problems})
    if args.json:
        print(json.dumps({"healthy": healthy, "apps": [s.to_json() for s in statuses]}, indent=2))
    elif not statuses:
        print("no apps are managed by piserver-wizard on this machine")
    else:
        print("\n".join(line for s in statuses for line in text_lines(s)))
    return EXIT_OK if healthy else EXIT_FAILED
