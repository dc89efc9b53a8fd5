"""What the welcome screen and the app screens ask of the machine about installed apps.

One small object between the Textual screens and ``wizard.verbs``: the screens call it from worker
threads (every call may wait on supervisor, nginx or certbot), and tests hand in a scripted one with
fixed answers so that snapshots do not depend on this machine.
"""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass

from wizard.verbs.apps import managed_apps
from wizard.verbs.findings import Diagnosis
from wizard.verbs.logs import TAIL_BYTES, Source, sources_of
from wizard.verbs.status import AppStatus, collect


@dataclass
class Manager:
    """The real one: the same functions as the command line's verbs."""

    def statuses(self) -> list[AppStatus]:
        return collect()

    def findings(self, name: str) -> list[Diagnosis]:
        from wizard.verbs.doctor import diagnose

        return diagnose(name, renewal_test=False)  # the CA is asked only from the command line

    def answers(self, name: str):  # noqa: ANN201 - Answers
        return managed_apps(name)[0].answers

    def restart(self, name: str) -> tuple[bool, str]:
        from wizard.verbs.restart import reload

        return reload(managed_apps(name)[0])

    def removal_plan(self, name: str) -> str:
        from wizard.services import Services
        from wizard.verbs.removal import RemoveOptions, removal_plan
        from wizard.verbs.remove import print_plan

        apps = managed_apps()
        app = next(a for a in apps if a.name == name)
        plan = removal_plan(app, [a for a in apps if a.name != name], RemoveOptions(), Services.detect())
        out = io.StringIO()
        print_plan(plan.steps, app, out)
        return out.getvalue()

    def remove(self, name: str) -> tuple[bool, str]:
        """The command line's own verb in a child process: its lock, run log and engine, unchanged."""
        done = subprocess.run([sys.executable, "-m", "wizard", "remove", name], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=900)
        return done.returncode == 0, done.stdout + done.stderr

    def log_sources(self, name: str) -> list[Source]:
        return sources_of(managed_apps(name)[0])


INITIAL_TAIL = TAIL_BYTES
