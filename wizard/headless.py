"""The unattended front end: a line per step, output on --verbose, a summary, honest exit codes."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, preflight
from . import answers as answers_mod
from .changes import describe_changes
from .engine import RunResult
from .events import CommandStarted, Event, Listener, Output, PromptNeeded, RunFinished, StepFinished, StepStarted
from .lock import LockedError
from .preflight import Level
from .report import RecordingRunner, Report, json_run
from .runner import DryRunner, PexpectRunner, Runner
from .services import Services
from .session import RunSession, Session
from .state import StateError
from .status import StepStatus
from .summary import summary_lines
from .transcript import strip_ansi


class LinePrinter:
    """Prints "[ 3/15] Install nginx ... done (12.3 s)"; with verbose, the output streams in between."""

    def __init__(self, out: TextIO, verbose: bool, dry: bool = False) -> None:
        self.out, self.verbose = out, verbose
        self.labels = {StepStatus.ALREADY_DONE: "already done", StepStatus.DONE: "would do" if dry else "done",
                       StepStatus.FAILED: "FAILED"}
        self._open_line = False

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self._write(f"[{event.index:2}/{event.total}] {event.title} ... ")
            self._open_line = True
            if self.verbose:
                self._write("\n")
                self._open_line = False
        elif isinstance(event, CommandStarted) and self.verbose:
            self._write(f"  $ {event.display}\n")
        elif isinstance(event, Output) and self.verbose:
            self._write(strip_ansi(event.text).replace("\r\n", "\n"))
        elif isinstance(event, Output) and event.note:
            self._write(("\n" if self._open_line else "") + f"  {event.text}")
            self._open_line = False
        elif isinstance(event, PromptNeeded):
            self._write(f"\n  the command is waiting for input: {event.text!r}\n")
        elif isinstance(event, StepFinished):
            label = self.labels[event.status]
            prefix = "" if self._open_line else "  -> "
            self._write(f"{prefix}{label} ({event.elapsed:.1f} s)\n")
            self._open_line = False
        elif isinstance(event, RunFinished):
            pass


INTERRUPTED = "interrupted: run the same command again to resume where it stopped"


def run_unattended(path: Path, *, as_json: bool, dry_run: bool, verbose: bool,
                   privilege_problem: Callable[[], str | None], force: bool = False) -> int:
    """``--answers``; with ``as_json`` progress goes to stderr and one document to stdout at the end."""
    report = Report(dry_run=dry_run) if as_json else None

    def run() -> int:
        return run_headless(path, dry_run=dry_run, verbose=verbose, privilege_problem=privilege_problem,
                            force=force, out=sys.stderr if report else sys.stdout, report=report)
    return json_run(report, run) if report else run()


def run_headless(path: Path, *, dry_run: bool, verbose: bool,
                 privilege_problem: Callable[[], str | None], force: bool = False,
                 out: TextIO = sys.stdout, report: Report | None = None) -> int:
    """``report``: collects the run for ``--json`` (wizard.report); the front end prints it at the end."""
    try:
        answers = answers_mod.load(path, has_systemd=Services.detect().systemd)
    except answers_mod.AnswersError as error:
        return _refuse(str(error), report)
    if dry_run:
        return _dry_run(answers, path, out, report)
    problem = privilege_problem()
    if problem:
        return _refuse(problem, report)
    run = RunSession(answers, lambda emit, log: _recorded(PexpectRunner(emit, log=log, follow_all=verbose), report))
    try:
        run.open()
    except LockedError as error:
        return _refuse(str(error), report)
    with run:
        return _run(run, path, verbose, force, out, report)


def _refuse(message: str, report: Report | None, code: int = EXIT_USAGE) -> int:
    print(f"piserver-wizard: {message}", file=sys.stderr)
    if report is not None and report.failed is None:
        report.fail(message)
    return code


def _recorded(runner: Runner, report: Report | None) -> Runner:
    return runner if report is None else RecordingRunner(runner, report)


def _dry_run(answers: answers_mod.Answers, path: Path, out: TextIO, report: Report | None) -> int:
    """What a run would do, said step by step; nothing is locked, logged or changed."""
    session = Session.prepare(answers)
    printer = LinePrinter(out, verbose=True, dry=True)
    print(f"Dry run on {session.facts.hostname}: nothing will be changed.", file=out)
    report_findings(preflight.check(answers, session.facts), out)
    emit: Listener = printer
    if report is not None:
        report.plan([(s.id, s.title) for s in session.plan.steps])
        emit = _both(printer, report)
    result = session.engine(_recorded(DryRunner(printer), report), emit).run()
    if report is not None:
        report.ended(result.ran, summary_lines(answers, session.facts, str(path.resolve()), ""))
    return EXIT_OK if result.ok else EXIT_FAILED


def _both(*listeners: Listener) -> Listener:
    def emit(event: Event) -> None:
        for listener in listeners:
            listener(event)
    return emit


def report_findings(findings: list[preflight.Finding], out: TextIO) -> bool:
    """Print the preflight findings; True when one of them refuses the run."""
    for finding in findings:
        label = {Level.REFUSE: "REFUSED", Level.WARN: "warning", Level.INFO: "note"}[finding.level]
        print(f"  {label}: {finding.message}", file=out)
    return any(f.level is Level.REFUSE for f in findings)


def _run(run: RunSession, path: Path, verbose: bool, force: bool, out: TextIO, report: Report | None) -> int:
    started = time.monotonic()
    facts = run.facts
    assert facts is not None
    print(f"piserver-wizard on {facts.hostname} ({facts.os_name}, {facts.arch}); full log: {run.log_path}",
          file=out)
    if report_findings(preflight.check(run.answers, facts), out) and not force:
        return _refuse("refused before changing anything (see above); --force goes on anyway", report)
    report_findings([f for f in preflight.session(facts) if f.code != "root"], out)  # not root: sudo -n
    for change in describe_changes(run.previous_answers(), run.answers):
        print(f"  change: {change}", file=out)
    run.listeners.append(LinePrinter(out, verbose))
    if report is not None:
        report.plan([(s.id, s.title) for s in run.session.plan.steps] if run.session else [])
        run.listeners.append(report)
    try:
        run.start_log()
        run.remember_answers(path)
        result = run.run()
    except StateError as error:
        return _refuse(str(error), report, EXIT_FAILED)
    if report is not None:
        report.ended(result.ran, summary_lines(run.answers, facts, str(path.resolve()), str(run.log_path)))
    if not result.ok:
        return _report_failure(run, result, out)
    _report_success(run, result, time.monotonic() - started, path, out)
    return EXIT_OK


def _report_failure(run: RunSession, result: RunResult, out: TextIO) -> int:
    step = run.session.plan.step(result.failed_step or "") if run.session else None
    title = step.title if step else result.failed_step
    print(f"\nStep '{title}' failed: {result.message}", file=out)
    if result.tail:
        print("Last output:\n  " + result.tail.replace("\n", "\n  "), file=out)
    print(f"Full log: {run.log_path}\nFix the cause, then run the same command again: it resumes at this step.",
          file=out)
    return EXIT_FAILED


def _report_success(run: RunSession, result: RunResult, total: float, path: Path, out: TextIO) -> None:
    split = (f"commands {result.command_seconds:.1f} s, checks {result.check_seconds:.1f} s, "
             f"the wizard itself {total - result.command_seconds - result.check_seconds:.1f} s")
    if not result.ran:
        print(f"\nNothing to do: everything was already in place ({total:.1f} s: {split}).", file=out)
    else:
        print(f"\nDone in {total:.1f} s ({split}).", file=out)
    assert run.facts is not None
    for label, value in summary_lines(run.answers, run.facts, str(path.resolve()), str(run.log_path)):
        print(f"  {label + ':':17} {value}", file=out)
