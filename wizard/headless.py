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
from .events import CommandStarted, Event, Output, PromptNeeded, RunFinished, StepFinished, StepStarted
from .lock import LockedError
from .preflight import Level
from .runner import DryRunner, PexpectRunner
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
        elif isinstance(event, PromptNeeded):
            self._write(f"\n  the command is waiting for input: {event.text!r}\n")
        elif isinstance(event, StepFinished):
            label = self.labels[event.status]
            prefix = "" if self._open_line else "  -> "
            self._write(f"{prefix}{label} ({event.elapsed:.1f} s)\n")
            self._open_line = False
        elif isinstance(event, RunFinished):
            pass


def run_headless(path: Path, *, dry_run: bool, verbose: bool,
                 privilege_problem: Callable[[], str | None], force: bool = False,
                 out: TextIO = sys.stdout) -> int:
    try:
        answers = answers_mod.load(path, has_systemd=Services.detect().systemd)
    except answers_mod.AnswersError as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    if dry_run:
        return _dry_run(answers, out)
    problem = privilege_problem()
    if problem:
        print(f"piserver-wizard: {problem}", file=sys.stderr)
        return EXIT_USAGE
    run = RunSession(answers, lambda emit, log: PexpectRunner(emit, log=log, follow_all=verbose))
    try:
        run.open()
    except LockedError as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    with run:
        return _run(run, path, verbose, force, out)


def _dry_run(answers: answers_mod.Answers, out: TextIO) -> int:
    """What a run would do, said step by step; nothing is locked, logged or changed."""
    session = Session.prepare(answers)
    printer = LinePrinter(out, verbose=True, dry=True)
    print(f"Dry run on {session.facts.hostname}: nothing will be changed.", file=out)
    report_findings(preflight.check(answers, session.facts), out)
    result = session.engine(DryRunner(printer), printer).run()
    return EXIT_OK if result.ok else EXIT_FAILED


def report_findings(findings: list[preflight.Finding], out: TextIO) -> bool:
    """Print the preflight findings; True when one of them refuses the run."""
    for finding in findings:
        label = {Level.REFUSE: "REFUSED", Level.WARN: "warning", Level.INFO: "note"}[finding.level]
        print(f"  {label}: {finding.message}", file=out)
    return any(f.level is Level.REFUSE for f in findings)


def _run(run: RunSession, path: Path, verbose: bool, force: bool, out: TextIO) -> int:
    started = time.monotonic()
    facts = run.facts
    assert facts is not None
    print(f"piserver-wizard on {facts.hostname} ({facts.os_name}, {facts.arch}); full log: {run.log_path}",
          file=out)
    if report_findings(preflight.check(run.answers, facts), out) and not force:
        print("piserver-wizard: refused before changing anything (see above); --force goes on anyway",
              file=sys.stderr)
        return EXIT_USAGE
    report_findings([f for f in preflight.session(facts) if f.code != "root"], out)  # not root: sudo -n
    for change in describe_changes(run.previous_answers(), run.answers):
        print(f"  change: {change}", file=out)
    run.listeners.append(LinePrinter(out, verbose))
    try:
        run.start_log()
        run.remember_answers(path)
        result = run.run()
    except StateError as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_FAILED
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
