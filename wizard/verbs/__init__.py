"""The verbs that look after apps once they are installed: status, doctor, logs, restart and remove.

Each verb is one module with ``add_arguments(parser)`` and ``run(args) -> int``; ``wizard.cli`` hands the
command line to the verb named first. None of them imports Textual: they serve SSH sessions, cron jobs
and monitoring checks, where a second of start-up per call matters.
"""

from __future__ import annotations

import argparse
import importlib

VERBS = {
    "status": "the health of each app: supervisor, URLs, certificate, renewal, last run",
    "restart": "reload an app without dropping a request, then wait until it answers",
    "doctor": "deeper checks, each finding with a level and a one-line fix",
    "logs": "the app's output and nginx's logs for its site, merged in time order",
    "remove": "undo what the wizard did for one app (shown as a plan first)",
}


def run(argv: list[str]) -> int:
    """Parse ``VERB ARGS...`` with the verb's own parser and run it."""
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(f"{__name__}.{name}")
    parser = argparse.ArgumentParser(prog=f"piserver-wizard {name}", description=VERBS[name])
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(rest)))
