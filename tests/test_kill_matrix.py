"""Killed at every step, in a booted Debian with systemd as PID 1: each next run makes good.

For every step of a from-scratch plan the wizard gets SIGKILL (its whole process group, as an SSH drop
with no tmux does) once at the moment the step starts and once in the middle of its longest command.
The matrix is rolling, which keeps it to about the cost of two installs: the run after a kill is the
resume of that kill *and* the next case (it is killed at the next moment), so every case starts from
what a kill really left. "In the middle" is half the duration the same command took in a reference run
of the same answers (apt-get install: its first "Unpacking", dpkg at work). After the last case a run
finishes: the site serves HTTPS, `dpkg --audit` is clean, supervisor has the program RUNNING, and a
same-answers run changes nothing. Then the container is shut down and booted again on the same disk:
the site comes back by itself (nginx, supervisor, the app).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from kill_helpers import Killed, Progress, run_until
from test_systemd_e2e import _host_web_servers

from conftest import REPO
from site_checks import pebble_root
from systemd_container import BASE_ENV, DEFAULT_CACHE_DIR, Container, booted, build_root

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SUITE = "bookworm"
DOMAIN = "kill.test"
ANSWERS = """\
[site]
domains = ["kill.test"]
[app]
name = "kilt"
user = "pi"
directory = "/home/pi/kilt"
workers = 1
bind = "127.0.0.1:4660"
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{server}"
renewal = "auto"
"""
WIZARD = "/opt/piserver-wizard/bin/piserver-wizard"
STEP = re.compile(r"^\[\s*(\d+)/(\d+)\] (.*?) \.\.\. ")
COMMAND = re.compile(r"^  \$ (.*)$")


@dataclass
class Command:
    display: str
    seconds: float


@dataclass
class StepPlan:
    index: int
    title: str
    commands: list[Command] = field(default_factory=list)

    @property
    def longest(self) -> Command | None:
        return max(self.commands, key=lambda c: c.seconds, default=None)


def parse_reference(lines: list[tuple[float, str]]) -> list[StepPlan]:
    """Steps and their commands with how long each took, from a --verbose run's timed lines."""
    steps: list[StepPlan] = []
    open_command: tuple[float, str] | None = None

    def close(at: float) -> None:
        nonlocal open_command
        if open_command and steps:
            steps[-1].commands.append(Command(open_command[1], at - open_command[0]))
        open_command = None

    for at, line in lines:
        if m := STEP.match(line):
            close(at)
            steps.append(StepPlan(int(m.group(1)), m.group(3)))
        elif m := COMMAND.match(line):
            close(at)
            open_command = (at, m.group(1))
        elif line.startswith("  -> "):
            close(at)
    return steps


def step_started(progress: Progress, title: str) -> float | None:
    """By title: a run after a kill in dpkg has one more step first (the repair), so numbers shift."""
    for at, line in progress.lines:
        if (m := STEP.match(line)) and m.group(3) == title:
            return at
    return None


@dataclass
class Moment:
    """When to kill: a step's start, or the middle of its longest command."""

    step: StepPlan
    total: int
    where: str  # "start" or "mid"
    note: str = ""

    def __call__(self, progress: Progress) -> bool:
        began = step_started(progress, self.step.title)
        if began is None:
            return False
        if self.where == "start":
            self.note = "at the step's start"
            return True
        longest = self.step.longest
        assert longest is not None
        after = [(at, line) for at, line in progress.lines if at >= began]
        starts = [at for at, line in after if line == f"  $ {longest.display}"]
        if not starts:
            if any(line.startswith("  -> ") for _, line in after):
                self.note = f"{_short(longest.display)}: not run this time (found done); killed at the step's end"
                return True
            return False
        since = progress.now - starts[0]
        later = [(at, line) for at, line in after if at >= starts[0]][1:]
        if longest.display.startswith("DEBIAN_FRONTEND") or "apt-get" in longest.display:
            if any(line.startswith("Unpacking ") for _, line in later):
                self.note = f"{_short(longest.display)}: at its first 'Unpacking', +{since:.1f} s"
                return True
        if any(COMMAND.match(line) or line.startswith("  -> ") or STEP.match(line) for _, line in later):
            self.note = f"{_short(longest.display)}: it ended before its middle (+{since:.1f} s); killed just after"
            return True
        if since >= longest.seconds / 2:
            self.note = f"{_short(longest.display)}: +{since:.1f} s of {longest.seconds:.1f} s"
            return True
        return False


def _short(display: str) -> str:
    words = [w for w in display.split() if "=" not in w and not w.startswith("-") and not w.startswith("(")]
    return " ".join(words[:3])


def outcome(output: str) -> dict[str, str]:
    """Step title -> what the run said of it: done, already done, FAILED (absent: not reached)."""
    said: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if m := STEP.match(line):
            current = m.group(3)
            rest = line[m.end():]
            if rest.startswith(("already done", "done", "FAILED")):
                said[current] = rest.split(" (")[0]
        elif line.startswith("  -> ") and current is not None:
            said[current] = line[5:].split(" (")[0]
    return said


def prepare(box: Container, wheel: Path, acme: dict[str, str], folder: Path) -> None:
    box.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], timeout=60)
    box.copy_in(wheel, f"/root/{wheel.name}")
    box.run(["python3", "-m", "venv", "/opt/piserver-wizard"], timeout=300)
    box.run(["/opt/piserver-wizard/bin/pip", "install", "-q", f"/root/{wheel.name}"], timeout=900)
    box.copy_in(Path(acme["ACME_CA_BUNDLE"]), "/root/pebble-ca.pem")
    box.run(["sh", "-c", "cat /etc/ssl/certs/ca-certificates.crt /root/pebble-ca.pem > /etc/ssl/acme-test-bundle.pem"],
            timeout=30)
    answers = folder / "kill-answers.toml"
    answers.write_text(ANSWERS.format(server=acme["ACME_DIRECTORY_URL"]))
    box.copy_in(answers, "/root/answers.toml")


def wizard_argv(box: Container) -> list[str]:
    return ["nsenter", "-t", str(box.pid1), "-a", "-r", "-w", "--", WIZARD, "--verbose", "--answers",
            "/root/answers.toml"]


ENV = {**BASE_ENV, "REQUESTS_CA_BUNDLE": "/etc/ssl/acme-test-bundle.pem", "PISERVER_WIZARD_OFFLINE": "1"}


@dataclass
class Case:
    step: StepPlan
    where: str
    killed: Killed
    note: str
    resumed: Killed | None = None  # the next run (itself killed at the next moment, or the last one)


@dataclass
class Matrix:
    reference: list[StepPlan]
    reference_seconds: float
    cases: list[Case]
    final: Killed
    again: Killed
    box: Container
    root: Path


def _run(box: Container, log: Path, moment: Moment | None) -> Killed:
    return run_until(wizard_argv(box), moment, ENV, log, timeout=1800)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(["python3", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=600)
    return next(out.glob("piserver_wizard-*.whl"))


@pytest.fixture(scope="module")
def matrix(as_root: None, acme: dict[str, str], wheel: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    folder = tmp_path_factory.mktemp("kill")
    root = build_root(DEFAULT_CACHE_DIR, SUITE)
    stopped = _host_web_servers("stop")
    keep = Path(tempfile.mkdtemp(prefix="run-kill-matrix-", dir=root.parent))
    try:
        with booted(root, "piserver-kill-ref") as ref:
            prepare(ref, wheel, acme, folder)
            reference = _run(ref, folder / "reference.log", None)
            assert reference.returncode == 0, reference.output
        plan = parse_reference(reference.lines)
        with booted(root, "piserver-kill", keep=keep) as box:
            prepare(box, wheel, acme, folder)
            cases: list[Case] = []
            moments = [Moment(step, len(plan), where) for step in plan
                       for where in ("start", "mid") if where == "start" or step.longest is not None]
            for number, moment in enumerate(moments):
                run = _run(box, folder / f"case-{number:02}.log", moment)
                if cases:
                    cases[-1].resumed = run
                assert run.killed, f"case {number} ({moment.step.title}, {moment.where}) never came:\n{run.output}"
                cases.append(Case(moment.step, moment.where, run, moment.note))
            final = _run(box, folder / "final.log", None)
            cases[-1].resumed = final
            again = _run(box, folder / "again.log", None)
            yield Matrix(plan, reference.seconds, cases, final, again, box,
                         pebble_root(acme, folder / "root.pem"))
    finally:
        if stopped:
            _host_web_servers("start")
        shutil.rmtree(keep, ignore_errors=True)


def test_every_case_was_killed_where_it_was_meant(matrix: Matrix) -> None:
    lines = [f"\nkill matrix ({SUITE}, reference first run {matrix.reference_seconds:.1f} s, "
             f"{len(matrix.cases)} cases):",
             f"{'step':44} {'killed':52} {'at':>7} {'resumed':8} {'next run':>8}"]
    for case in matrix.cases:
        resumed = case.resumed
        ok = resumed is not None and "FAILED" not in outcome(resumed.output).values()
        lines.append(f"{case.step.index:2} {case.step.title[:41]:41} {case.note[:52]:52} "
                     f"{case.killed.seconds:6.1f}s {'yes' if ok else 'NO':8} "
                     f"{resumed.seconds if resumed else 0:7.1f}s")
    print("\n".join(lines))
    assert all(c.killed.killed for c in matrix.cases)


def test_no_resume_failed_or_redid_finished_work(matrix: Matrix) -> None:
    """The run after a kill passes over every step the killed run finished (its "done" is kept)."""
    for case in matrix.cases:
        before = outcome(case.killed.output)
        after = outcome(case.resumed.output)
        assert "FAILED" not in after.values(), case.resumed.output
        finished = {t for t, said in before.items() if said in ("done", "already done")}
        # The final check runs every time; the package lists are refreshed until the packages are in
        # (the install after a kill must not work from lists older than the run).
        always = {matrix.reference[-1].title, "Update the package lists"}
        redone = sorted(t for t in finished - always if after.get(t) == "done")
        assert not redone, f"after the kill {case.note!r} in step {case.step.index}, the next run redid {redone}"


def test_the_last_run_finished_and_the_site_is_whole(matrix: Matrix) -> None:
    from site_checks import http_get, https_get

    assert matrix.final.returncode == 0, matrix.final.output
    status, headers, _ = http_get(DOMAIN)
    assert status == 301 and headers["Location"] == f"https://{DOMAIN}/"
    status, text, _ = https_get(DOMAIN, matrix.root)
    assert status == 200 and "Hello, World!" in text
    box = matrix.box
    assert box.run(["dpkg", "--audit"], timeout=60).stdout == ""
    assert not list(box.path("/var/lib/dpkg/updates").iterdir())
    assert "RUNNING" in box.run(["supervisorctl", "status", "kilt"], timeout=30).stdout


def test_a_same_answers_run_then_does_nothing(matrix: Matrix) -> None:
    assert matrix.again.returncode == 0, matrix.again.output
    assert "Nothing to do" in matrix.again.output


def test_a_reboot_brings_the_site_back(matrix: Matrix, acme: dict[str, str]) -> None:
    """Power off, boot the same disk: nothing but systemd starts nginx, supervisor and the app."""
    from site_checks import https_get

    root = matrix.box.root  # the merged folder; its overlay folder is what was kept
    keep = root.parent
    matrix.box.run(["systemctl", "poweroff"], timeout=60, check=False)
    deadline = time.monotonic() + 60
    while matrix.box.nspawn.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    from systemd_container import _teardown
    _teardown(matrix.box.nspawn, matrix.box.pid1)
    subprocess.run(["umount", "-l", str(root)], capture_output=True)
    base = build_root(DEFAULT_CACHE_DIR, SUITE)
    with booted(base, "piserver-kill", keep=keep) as again:
        served = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                served = https_get(DOMAIN, matrix.root)
                if served[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert served is not None and served[0] == 200 and "Hello, World!" in served[1]
        for unit in ("nginx", "supervisor"):
            assert again.run(["systemctl", "is-active", unit], timeout=30, check=False).stdout.strip() == "active"
