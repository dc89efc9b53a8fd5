"""The plan: one ordered list of steps built from the answers and the machine's facts.

The unattended run, ``--dry-run`` and the TUI all take this same list. A step is data (commands as argv
lists, files already rendered, checks as small functions), so it can be shown before anything happens and
executed by whichever runner is plugged in. The steps themselves are made in ``wizard.steps``, one module
per concern; this module holds the data types and puts the steps in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .answers import Answers
from .commands import Command
from .facts import AppFacts, Facts
from .files import AppFolder, Link, PlannedFile
from .fingerprint import fingerprint
from .services import Services

Check = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class Probe:
    description: str
    check: Check


@dataclass(frozen=True)
class Ensure:
    """Commands run when the machine lacks an effect its files cannot show (a program stopped by hand,
    left FATAL, or removed from supervisor): checked after the follow-ups, on every run of the step."""

    description: str  # what is wrong when ``needed`` says so, e.g. "hello is STOPPED"
    needed: Callable[[], bool]
    commands: list[Command]


@dataclass
class Step:
    """One unit of progress: skipped when done, retried whole when it failed or was interrupted."""

    id: str
    title: str
    commands: list[Command] = field(default_factory=list)
    folders: list[AppFolder] = field(default_factory=list)  # made before the files, safely (boundary)
    files: list[PlannedFile] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    validate: list[Command] = field(default_factory=list)  # after files; failure puts the files back
    on_change: list[Command] = field(default_factory=list)  # after files, only when a file changed
    on_rerun: list[Command] = field(default_factory=list)  # when inputs changed but no file did
    probes: list[Probe] = field(default_factory=list)
    ensure: list[Ensure] = field(default_factory=list)  # before the probes: put right what the machine lacks
    is_done: Callable[[], bool] | None = None  # the machine says the work is there
    inputs: dict = field(default_factory=dict)  # what the work depends on (fingerprinted in the state)
    remember_inputs: bool = False  # done only if the stored fingerprint matches too
    always: bool = False  # checks that run on every run (verify)
    safe_to_skip: bool = False
    tracks: list[str] = field(default_factory=list)  # files others (certbot --nginx) may change after us

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.inputs)

    def files_current(self) -> bool:
        return (all(f.is_current() for f in self.folders) and all(f.is_current() for f in self.files)
                and all(link.is_current() for link in self.links))

    def describe(self) -> list[str]:
        lines = [c.display() for c in self.commands]
        lines += [f.describe() for f in self.folders]
        lines += [f"write {f.path}" for f in self.files]
        lines += [link.describe() for link in self.links]
        lines += [c.display() for c in self.validate + self.on_change]
        lines += [f"if {e.description}: {'; '.join(c.display() for c in e.commands)}" for e in self.ensure]
        lines += [f"check: {p.description}" for p in self.probes]
        return lines


@dataclass
class Plan:
    answers: Answers
    facts: Facts
    steps: list[Step]

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def planned_files(self) -> list[PlannedFile]:
        seen: dict[str, PlannedFile] = {}
        for step in self.steps:
            for planned in step.files:
                seen[planned.path] = planned  # a later step's version of a file is what stays
        return list(seen.values())


def build_plan(answers: Answers, facts: Facts, services: Services | None = None,
               state_files: dict[str, str] | None = None, app_facts: AppFacts | None = None) -> Plan:
    """A pure function of its arguments: what the machine says comes in ``facts`` and ``app_facts``.

    ``state_files`` maps paths to the hash of what the wizard last left there (see state.py);
    ``app_facts`` is probed from the machine when not given (``facts.probe_app``).
    """
    from . import steps
    from .facts import probe_app
    from .layout import AppLayout

    layout = AppLayout.of(answers)
    if app_facts is None:
        app_facts = probe_app(answers.app.user, answers.app.directory, layout.requirements, answers.app.name,
                              layout.site_available)
    ctx = steps.Context(answers, facts, services or Services(facts.systemd), layout, app_facts,
                        state_files or {})
    plan = [*steps.system.before_install(ctx), *steps.system.packages(ctx), *steps.system.services_started(ctx),
            *steps.app.folders(ctx), *steps.app.files(ctx)]
    packages = steps.app.packages_and_import(ctx)
    plan += [*packages, *steps.program.program(ctx, packages[-1].inputs), *steps.site.site(ctx)]
    if answers.https.enabled and answers.https.mode == "local-ca":
        plan += steps.localca.steps(ctx)
    elif answers.https.enabled:
        plan += [*steps.https.certificate(ctx), *steps.https.renew_test(ctx), *steps.renewal.renewal(ctx)]
    plan += [*steps.check.verify_site(ctx), *steps.notice.notice(ctx)]
    return Plan(answers, facts, plan)
