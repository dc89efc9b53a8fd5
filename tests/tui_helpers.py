"""Shared by the TUI tests: fixed facts, a plan of harmless real commands, a scripted engine for snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from wizard.answers import Answers, AppAnswers, HttpsAnswers, SiteAnswers
from wizard.commands import Command, Privilege
from wizard.events import Listener, Output, RunFinished, StepFinished, StepStarted
from wizard.facts import Facts
from wizard.files import PlannedFile
from wizard.plan import Plan, Step
from wizard.runner import CommandLog, PexpectRunner
from wizard.session import Session
from wizard.state import State
from wizard.status import StepStatus


def fixed_facts(**changes) -> Facts:
    facts = Facts(
        hostname="testpi", os_name="Debian GNU/Linux 12 (bookworm)", arch="aarch64", kernel="6.1.0-rpi7",
        ip_addresses=["192.168.1.50", "fd00::50"], python_version="3.11.2", systemd=True,
        installed={"nginx": "1.22.1-9", "python3-venv": "3.11.2-1+b1"}, dpkg_audit="",
        free_disk_bytes=12 * 1024 ** 3, listeners=[], cores=4, ipv6=True, default_user="pi", is_root=True,
    )
    for key, value in changes.items():
        setattr(facts, key, value)
    return facts


def sample_answers() -> Answers:
    return Answers(site=SiteAnswers(domains=["pi.example.com"]),
                   app=AppAnswers(user="pi", directory="/home/pi/hello", workers=9),
                   https=HttpsAnswers(email="admin@example.com", agree_tos=True))


def sh(script: str, **kwargs) -> Command:
    return Command.of("sh", "-c", script, **kwargs)


def never_done() -> bool:
    return False


def harmless_steps(tmp: Path) -> list[Step]:
    """Real commands in a temp folder: a step that streams, one that fails until a flag file exists."""
    flag = tmp / "flag"
    return [
        Step("hello", "Say hello", commands=[sh("echo hello from the first step")], is_done=never_done),
        Step("count", "Count to 300",
             commands=[sh("i=1; while [ $i -le 300 ]; do echo \"line $i\"; i=$((i+1)); done")],
             is_done=never_done),
        Step("flaky", "Fail until the flag exists",
             commands=[sh(f"echo checking the flag; test -e '{flag}' || {{ echo 'no flag yet' >&2; exit 3; }}")],
             is_done=never_done, safe_to_skip=True),
        Step("write", "Write a file", files=[PlannedFile(str(tmp / "out" / "site.conf"), "server {}\n")]),
    ]


def session_factory(tmp: Path, steps: Callable[[Path], list[Step]] = harmless_steps):
    """Sessions over a custom plan with a progress store in ``tmp`` (the real Session type)."""

    def make(answers: Answers, facts: Facts) -> Session:
        return Session(answers, facts, State(tmp / "state" / "state.json"), Plan(answers, facts, steps(tmp)))

    return make


def root_runner(emit: Listener, log: CommandLog) -> PexpectRunner:
    # quiet_prompt_after short so the unforeseen-prompt path is quick to test; commands run directly.
    return PexpectRunner(emit, interactive=True, privilege=Privilege(is_root=True),
                         quiet_prompt_after=0.5, log=log)


# Snapshots: a scripted engine with fixed events (no clocks, no real commands).

@dataclass
class ScriptedEngine:
    plan: Plan
    emit: Listener
    fail_at: str | None = None
    statuses_map: dict[str, StepStatus] = field(default_factory=dict)

    def statuses(self) -> dict[str, StepStatus]:
        return {s.id: self.statuses_map.get(s.id, StepStatus.WAITING) for s in self.plan.steps}

    def run(self, start_at: str | None = None):
        total = len(self.plan.steps)
        for index, step in enumerate(self.plan.steps, 1):
            self.emit(StepStarted(step.id, step.title, index, total))
            if self.statuses_map.get(step.id) == StepStatus.ALREADY_DONE:
                self.emit(StepFinished(step.id, StepStatus.ALREADY_DONE, 0.0, "already done"))
                continue
            for command in step.describe():
                self.emit(Output(step.id, f"\x1b[1m{command}\x1b[0m\r\nworking...\r\n"))
            if step.id == self.fail_at:
                self.emit(Output(step.id, "E: Unable to locate package nginx-full\n"))
                self.emit(StepFinished(step.id, StepStatus.FAILED, 1.0, "apt-get install exited with status 100",
                                       "Reading package lists...\nE: Unable to locate package nginx-full"))
                self.emit(RunFinished(False, step.id, 2.0))
                return None
            self.emit(StepFinished(step.id, StepStatus.DONE, 1.0))
        self.emit(RunFinished(True, None, 2.0))
        return None


@dataclass
class ScriptedSession(Session):
    fail_at: str | None = None
    statuses_map: dict[str, StepStatus] = field(default_factory=dict)
    saved_to: Path = Path("/var/lib/piserver-wizard/answers.toml")

    def engine(self, runner, emit, stop=None):
        return ScriptedEngine(self.plan, emit, self.fail_at, self.statuses_map)

    def remember_answers(self, source):
        return self.saved_to


class NullRunner:
    dry = False

    def __init__(self, emit=None, log=None) -> None:
        pass

    def send_input(self, text: str) -> None:
        pass

    def cancel(self) -> None:
        pass


SNAPSHOT_ROOT = Path("/nonexistent/piserver-wizard-snapshot")  # fixed paths in the SVGs; never written


def scripted_factory(tmp: Path, fail_at: str | None = None, statuses: dict[str, StepStatus] | None = None):
    root = SNAPSHOT_ROOT

    def make(answers: Answers, facts: Facts) -> Session:
        steps = [
            Step("apt-update", "Update the package lists", safe_to_skip=True,
                 commands=[Command.of("apt-get", "-y", "update")]),
            Step("nginx-install", "Install and start nginx",
                 commands=[Command.of("apt-get", "-y", "install", "nginx"),
                           Command.of("systemctl", "enable", "--now", "nginx")]),
            Step("app-files", "Write the app's files",
                 files=[PlannedFile(str(root / "hello" / "app.py"),
                                    "from flask import Flask\n\napp = Flask(__name__)\n")]),
            Step("app-program", "Run hello under supervisor (gunicorn -w 9 -b 127.0.0.1:4000)",
                 files=[PlannedFile(str(root / "supervisor" / "hello.conf"),
                                    "[program:hello]\ncommand=/home/pi/hello/venv/bin/gunicorn app:app\n")],
                 commands=[Command.of("supervisorctl", "update")]),
            Step("verify", "Check the site answers on pi.example.com", always=True),
        ]
        return ScriptedSession(answers, facts, State(tmp / "state.json"), Plan(answers, facts, steps),
                               fail_at=fail_at, statuses_map=dict(statuses or {}))

    return make
