"""Killed at every step, in a booted Debian with systemd as PID 1: each next run makes good.

For every step of a from-scratch plan the wizard gets SIGKILL (its whole process group, as an SSH drop
with no tmux does) once at the moment the step starts and once in the middle of its longest command.
The matrix is rolling, which keeps it to about the cost of two installs: the run after a kill is the
resume of that kill *and* the next case (it is killed at the next moment), so every case starts from
what a kill really left. "In the middle" is half the time the same command took in a reference run of
the same answers, in a container of its own. Each resume must pass over every step the killed run had
finished ("already done"), and fail none. After the last case a run finishes: the site serves HTTPS
(pebble's root, the name as SNI), `dpkg --audit` is clean, supervisor has the program RUNNING, and a
same-answers run has nothing to do. Then the container is shut down and booted again on the same disk:
the site comes back by itself (nginx, supervisor, the app and its socket folder under /run). There, a
program stopped by hand, removed from supervisor, or FATAL until the re-run fixed its cause (its secret
key gone) is brought back RUNNING by the same answers, and a gunicorn.conf changed alone reloads it.

Everything runs in a lab (container_lab.py): its own network namespace and pebble, packages offline.
PISERVER_KILL_SUITES (default "bookworm") names the releases, e.g. "bookworm trixie".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from kill_helpers import Killed, Moment, StepPlan, finished_at, outcome, parse_reference, run_until, short

from conftest import REPO
from container_lab import WIZARD, WIZARD_ENV, Lab, install_wizard, lab, offline_roots
from site_checks import http_get, https_get
from systemd_container import BASE_ENV, Container, booted

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SUITES = os.environ.get("PISERVER_KILL_SUITES", "bookworm").split()
DOMAIN = "kill.test"
NAME = "kilt"
ANSWERS = f"""\
[site]
domains = ["{DOMAIN}"]
[app]
name = "{NAME}"
user = "pi"
directory = "/home/pi/{NAME}"
workers = 1
bind = "unix:/run/{NAME}/gunicorn.sock"
[system]
update_packages = false  # the lab has no route out: its offline layer holds the lists and the packages
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{{server}}"
renewal = "auto"
"""
ENV = {**BASE_ENV, **WIZARD_ENV}


@dataclass
class Case:
    step: StepPlan
    where: str
    killed: Killed
    note: str
    resumed: Killed | None = None  # the next run (itself killed at the next moment, or the last one)

    def resume_seconds(self) -> tuple[float | None, float | None]:
        """How long the next run took to be back at the step this kill interrupted, and to finish it (None
        where the next run was itself killed before: its own case, the middle of that same step)."""
        if self.resumed is None:
            return None, None
        back = next((at for at, line in self.resumed.lines if line.startswith("[") and self.step.title in line), None)
        return back, finished_at(self.resumed.lines, self.step.title)


@dataclass
class Matrix:
    suite: str
    reference: list[StepPlan]
    reference_seconds: float
    cases: list[Case]
    final: Killed
    again: Killed
    finished: dict  # what the machine showed after the last run, before the reboot
    rebooted: Container
    net: Lab
    root: Path


def prepare(box: Container, wheel: Path, net: Lab, folder: Path) -> None:
    install_wizard(box, wheel, net)
    box.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], timeout=60)
    answers = folder / "kill-answers.toml"
    answers.write_text(ANSWERS.format(server=net.acme["ACME_DIRECTORY_URL"]))
    box.copy_in(answers, "/root/answers.toml")


def run(box: Container, log: Path, moment: Moment | None) -> Killed:
    argv = ["nsenter", "-t", str(box.pid1), "-a", "-r", "-w", "--", *WIZARD, "--verbose", "--answers",
            "/root/answers.toml"]
    return run_until(argv, moment, ENV, log, timeout=1800)


def moments(plan: list[StepPlan]) -> list[Moment]:
    return [Moment(step, where) for step in plan for where in ("start", "mid")
            if where == "start" or step.longest is not None]


def roll(box: Container, plan: list[StepPlan], folder: Path) -> list[Case]:
    """Each run resumes the last kill and is itself killed at the next moment."""
    cases: list[Case] = []
    for number, moment in enumerate(moments(plan)):
        killed = run(box, folder / f"case-{number:02}.log", moment)
        if cases:
            cases[-1].resumed = killed
        assert killed.killed, f"case {number} ({moment.step.title}, {moment.where}) never came:\n{killed.output}"
        cases.append(Case(moment.step, moment.where, killed, moment.note))
    return cases


def machine(box: Container, net: Lab, root: Path) -> dict:
    """The finished install as seen from the lab: HTTP, HTTPS with pebble's root, dpkg and supervisor."""
    with net.inside():
        http = http_get(DOMAIN)
        https = https_get(DOMAIN, root)
    return {"http": http[:2], "https": https[:2],
            "audit": box.run(["dpkg", "--audit"], timeout=60, check=False).stdout,
            "updates": sorted(p.name for p in box.path("/var/lib/dpkg/updates").iterdir()),
            "program": box.run(["supervisorctl", "status", NAME], timeout=30, check=False).stdout}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(["python3", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=600)
    return next(out.glob("piserver_wizard-*.whl"))


@pytest.fixture(scope="module", params=SUITES)
def matrix(request: pytest.FixtureRequest, as_root: None, wheel: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    suite = request.param
    folder = tmp_path_factory.mktemp(f"kill-{suite}")
    base, layer = offline_roots(suite)
    keep = Path(tempfile.mkdtemp(prefix="run-kill-matrix-", dir=base.parent))
    try:
        with lab(f"kill-{suite}") as net:
            with booted(base, f"piserver-kill-ref-{suite}", layers=(layer,), netns=net.netns) as ref:
                prepare(ref, wheel, net, folder)
                reference = run(ref, folder / "reference.log", None)
                assert reference.returncode == 0, reference.output
            plan = parse_reference(reference.lines)
            root = net.root_pem(folder / "root.pem")
            with booted(base, f"piserver-kill-{suite}", layers=(layer,), netns=net.netns, keep=keep) as box:
                prepare(box, wheel, net, folder)
                cases = roll(box, plan, folder)
                final = run(box, folder / "final.log", None)
                cases[-1].resumed = final
                again = run(box, folder / "again.log", None)
                finished = machine(box, net, root)
            # Leaving the block shut the container down (systemd's poweroff); the same disk boots again.
            with booted(base, f"piserver-kill-{suite}", layers=(layer,), netns=net.netns, keep=keep) as rebooted:
                yield Matrix(suite, plan, reference.seconds, cases, final, again, finished, rebooted, net, root)
    finally:
        shutil.rmtree(keep, ignore_errors=True)


def table(matrix: Matrix) -> str:
    lines = [f"\nkill matrix ({matrix.suite}; reference first run {matrix.reference_seconds:.1f} s, "
             f"{len(matrix.cases)} cases):",
             f"{'step':46} {'killed':60} {'at':>7} {'lingered':>8} {'resumed ok':10} {'back at':>7} {'done':>7}",
             "(at: seconds into the killed run; lingered: how long its commands outlived it; back at / done: "
             "seconds into the next run until it reopened the step / finished it; -: the next run was killed "
             "in that step, its own case)"]
    for case in matrix.cases:
        after = outcome(case.resumed.output) if case.resumed else {}
        ok = bool(case.resumed) and "FAILED" not in after.values() and not redone(case)
        back, done = case.resume_seconds()
        lines.append(f"{case.step.index:2} {case.step.title[:43]:43} {case.note[:60]:60} "
                     f"{case.killed.seconds:6.1f}s {case.killed.lingered:7.1f}s {'yes' if ok else 'NO':10} "
                     f"{_seconds(back)} {_seconds(done)}")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return f"{value:6.1f}s" if value is not None else f"{'-':>7}"


def redone(case: Case) -> list[str]:
    """Steps the killed run had finished that the next one did again (the final check runs every time)."""
    before, after = outcome(case.killed.output), outcome(case.resumed.output)
    finished = {title for title, said in before.items() if said in ("done", "already done")}
    always = {step_title for step_title in finished if step_title.startswith("Check the site answers")}
    return sorted(title for title in finished - always if after.get(title) == "done")


def test_every_case_was_killed_where_it_was_meant(matrix: Matrix) -> None:
    print(table(matrix))
    assert all(case.killed.killed for case in matrix.cases)
    assert {case.step.title for case in matrix.cases} == {step.title for step in matrix.reference}
    mids = [case for case in matrix.cases if case.where == "mid"]
    assert mids and all(short(case.step.longest.display) in case.note for case in mids)


def test_no_resume_failed_or_redid_finished_work(matrix: Matrix) -> None:
    """The run after a kill passes over every step the killed run finished (its "done" is kept)."""
    for case in matrix.cases:
        after = outcome(case.resumed.output)
        assert "FAILED" not in after.values(), case.resumed.output
        assert not redone(case), (f"after the kill at {case.note!r} of {case.step.title!r}, the next run "
                                  f"redid {redone(case)}:\n{case.resumed.output}")


def test_the_last_run_finished_and_the_site_is_whole(matrix: Matrix) -> None:
    assert matrix.final.returncode == 0, matrix.final.output
    seen = matrix.finished
    assert seen["http"][0] == 301 and seen["http"][1]["Location"] == f"https://{DOMAIN}/"
    assert seen["https"][0] == 200 and "Hello, World!" in seen["https"][1]
    assert seen["audit"] == "" and seen["updates"] == []
    assert "RUNNING" in seen["program"], seen["program"]


def test_a_same_answers_run_then_does_nothing(matrix: Matrix) -> None:
    assert matrix.again.returncode == 0, matrix.again.output
    assert "Nothing to do" in matrix.again.output, matrix.again.output


def test_a_reboot_brings_the_site_back(matrix: Matrix) -> None:
    """Power off, boot the same disk: nothing but systemd starts nginx, supervisor, the app and /run/kilt."""
    box, served = matrix.rebooted, None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with matrix.net.inside():
                served = https_get(DOMAIN, matrix.root)
            if served[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.5)
    assert served is not None and served[0] == 200 and "Hello, World!" in served[1]
    for unit in ("nginx", "supervisor"):
        assert box.run(["systemctl", "is-active", unit], timeout=30, check=False).stdout.strip() == "active"
    status = ""
    while time.monotonic() < deadline + 30 and "RUNNING" not in status:  # STARTING for startsecs after boot
        status = box.run(["supervisorctl", "status", NAME], timeout=30, check=False).stdout
        time.sleep(0.5)
    assert "RUNNING" in status, status
    folder = box.run(["stat", "-c", "%U %G %a", f"/run/{NAME}"], timeout=30).stdout.split()
    assert folder == ["pi", "www-data", "2770"]


def _program_state(box: Container) -> str:
    out = box.run(["supervisorctl", "status", NAME], timeout=30, check=False).stdout.split()
    return out[1] if len(out) > 1 and out[0] == NAME else "UNKNOWN"


def _wait_state(box: Container, *wanted: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while (state := _program_state(box)) not in wanted and time.monotonic() < deadline:
        time.sleep(0.5)
    return state


def _rerun_brings_it_back(matrix: Matrix, folder: Path) -> None:
    again = run(matrix.rebooted, folder / "run.log", None)
    assert again.returncode == 0, again.output
    assert "FAILED" not in outcome(again.output).values()
    assert _wait_state(matrix.rebooted, "RUNNING") == "RUNNING"
    with matrix.net.inside():
        status, text, _ = https_get(DOMAIN, matrix.root)
    assert status == 200 and "Hello, World!" in text


def test_a_program_stopped_by_hand_is_started(matrix: Matrix, tmp_path: Path) -> None:
    """Issue 19: every re-run used to wait 40 s for RUNNING and fail "kilt is STOPPED, not RUNNING"."""
    matrix.rebooted.run(["supervisorctl", "stop", NAME], timeout=60)
    assert _program_state(matrix.rebooted) == "STOPPED"
    _rerun_brings_it_back(matrix, tmp_path)


def test_a_program_removed_from_supervisor_is_added_back(matrix: Matrix, tmp_path: Path) -> None:
    """The file current, supervisor not knowing the program (as a kill before `update` leaves it)."""
    matrix.rebooted.run(["supervisorctl", "stop", NAME], timeout=60)
    matrix.rebooted.run(["supervisorctl", "remove", NAME], timeout=60)
    assert _program_state(matrix.rebooted) == "UNKNOWN"
    _rerun_brings_it_back(matrix, tmp_path)


def test_a_fatal_program_is_started_once_its_cause_is_fixed(matrix: Matrix, tmp_path: Path) -> None:
    """gunicorn refuses to start without its secret key: FATAL; the re-run writes a key and starts it."""
    box = matrix.rebooted
    box.run(["rm", f"/home/pi/{NAME}/.secret_key"], timeout=30)
    box.run(["supervisorctl", "restart", NAME], timeout=120, check=False)
    assert _wait_state(box, "FATAL", timeout=120) == "FATAL"
    _rerun_brings_it_back(matrix, tmp_path)


def test_a_gunicorn_conf_changed_alone_reloads_the_program(matrix: Matrix, tmp_path: Path) -> None:
    """As after an upgrade of the wizard whose gunicorn.conf differs: the app-settings step writes it back
    and reloads gunicorn gracefully (HUP): the arbiter stays, every worker is new."""
    box = matrix.rebooted
    pid = box.run(["supervisorctl", "pid", NAME], timeout=30).stdout.strip()
    workers = set(box.run(["pgrep", "-P", pid], timeout=30, check=False).stdout.split())
    conf = f"/etc/piserver-wizard/{NAME}/gunicorn.conf.py"
    box.run(["sh", "-c", f"echo '# edited' >> {conf}"], timeout=30)
    again = run(box, tmp_path / "run.log", None)
    assert again.returncode == 0, again.output
    assert _wait_state(box, "RUNNING") == "RUNNING"
    assert box.run(["supervisorctl", "pid", NAME], timeout=30).stdout.strip() == pid
    now = set(box.run(["pgrep", "-P", pid], timeout=30, check=False).stdout.split())
    assert workers and now and not now & workers
    assert "# edited" not in box.path(conf).read_text()
