"""The flood through the real TUI: the run screen and its batched Log pane, in the terminal it is given.

    python bench/flood_tui.py LINES ROUNDS RESULT_JSON [FIRST_ROUND]

Started by bench/run.py inside an 80x24 pty (which counts the bytes the app sends to the terminal). The
plan is a short first step (the screen settles, as it has by the time apt runs in a real install), then
ROUNDS trios of steps, each in the next of the six orders (from FIRST_ROUND, so that apps in a row go
through them all): the flood writing to /dev/null (the baseline), appending to a
plain file nobody reads (the floor: what storing the bytes costs), and the flood whose output the pane
follows. Writes one JSON object to RESULT_JSON: the child's own wall and CPU times; for each pane
flood its start and end on the monotonic clock and the app's CPU time, and the app's CPU time during
the floor's floods (a step just as long whose output nobody reads: what the screen costs anyway); the
app's peak RSS; the largest backlog of output the pane had waiting at a flush.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.events import Mount

from screens import messages as m
from screens.app import WizardApp
from screens.finish import FinishScreen
from screens.output import Batch, OutputBuffer
from screens.run import RunScreen
from wizard.answers import Answers, HttpsAnswers, SiteAnswers
from wizard.commands import Command
from wizard.facts import Facts
from wizard.plan import Plan, Step
from wizard.session import Session
from wizard.state import State

FLOOD = str(Path(__file__).with_name("flood.py"))
ORDERS = list(itertools.permutations(range(3)))  # of the trio: /dev/null, the plain file, the pane


def cpu_seconds() -> float:
    """The app's CPU time (every thread: the screen and the engine's worker), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def flood_steps(lines: int, rounds: int, folder: Path, first_round: int = 0) -> list[Step]:
    def never() -> bool:
        return False

    steps = [Step("settle", "Let the screen settle", commands=[Command.of("sleep", "0.5")], is_done=never)]
    plain = str(folder / "plain.out")
    # Commands get a fixed environment (issue 12), so the floods are told where to report in their own.
    report = {"FLOOD_REPORT": str(folder / "walls")}
    for round_ in range(rounds):
        trio = [
            Step(f"bare-{round_}", f"Print {lines:,} lines to /dev/null",
                 commands=[Command.of(sys.executable, FLOOD, str(lines), "/dev/null", env=report, timeout=3600)],
                 is_done=never),
            Step(f"file-{round_}", f"Print {lines:,} lines to a plain file",
                 commands=[Command.of(sys.executable, FLOOD, str(lines), plain, env=report, timeout=3600),
                           Command.of("rm", "-f", plain)], is_done=never),
            # Then the log is emptied, inside the step (before the next one starts): one flood per log,
            # as in a real run, and no gigabytes of writeback piling up under the later rounds.
            Step(f"pane-{round_}", f"Print {lines:,} apt-like lines",
                 commands=[Command.of(sys.executable, FLOOD, str(lines), env=report, timeout=3600),
                           Command.of("truncate", "-s", "0", str(folder / "run.log"))], is_done=never),
        ]
        steps += [trio[kind] for kind in ORDERS[(first_round + round_) % len(ORDERS)]]
    return steps


class FloodApp(WizardApp):
    """The wizard's app, started straight on the run screen with the flood steps."""

    CSS_PATH = str(Path(sys.modules[WizardApp.__module__].__file__ or "").with_name("app.tcss"))

    def __init__(self, lines: int, rounds: int, folder: Path, first_round: int = 0) -> None:
        super().__init__(facts=Facts(hostname="bench", systemd=False, cores=os.cpu_count() or 1),
                         state=State(folder / "state.json"), log_path=lambda: folder / "run.log",
                         saved_answers=folder / "answers.toml", session_factory=self._flood_session)
        self.steps = flood_steps(lines, rounds, folder, first_round)
        self.windows: dict[str, list[float]] = {}  # step -> [start, end, cpu at start, cpu at end]
        self.backlog = 0

    def _flood_session(self, answers: Answers, facts: Facts) -> Session:
        """The run screen builds its plan again once it holds the run lock: the flood steps, not a real plan."""
        return Session(answers, facts, self.state, Plan(answers, facts, self.steps))

    def on_mount(self, event: Mount) -> None:
        event.prevent_default()  # the wizard's own on_mount would push the welcome screen over the run
        answers = Answers(site=SiteAnswers(domains=["flood.test"]), https=HttpsAnswers(enabled=False))
        self.install(Session(answers, self.facts, self.state, Plan(answers, self.facts, self.steps)))  # type: ignore[arg-type]
        self.set_interval(0.25, self._watch)  # not faster: its own CPU would count as the pane's

    def _watch(self) -> None:
        screen = self.screen
        if isinstance(screen, RunScreen) and not hasattr(screen.buffer, "watched"):
            self._watch_backlog(screen.buffer)
        if isinstance(screen, FinishScreen):
            self.exit()

    def _watch_backlog(self, buffer: OutputBuffer) -> None:
        """The backlog is read where it is largest, as the screen takes it (no polling timer of our own)."""
        take = buffer.take

        def measured_take(*args: Any, **kwargs: Any) -> list[Batch]:
            self.backlog = max(self.backlog, buffer.pending_chars())
            return take(*args, **kwargs)

        buffer.take = measured_take  # type: ignore[method-assign]
        buffer.watched = True  # type: ignore[attr-defined]

    # The run screen's messages bubble up to the app once the screen has handled them.

    def on_step_started(self, message: m.StepStarted) -> None:
        if message.event.step_id.startswith(("pane-", "file-")):  # the floor's too: a quiet step's CPU
            self.windows[message.event.step_id] = [time.monotonic(), 0.0, cpu_seconds(), 0.0]

    def on_step_finished(self, message: m.StepFinished) -> None:
        window = self.windows.get(message.event.step_id)
        if window is not None:
            window[1], window[3] = time.monotonic(), cpu_seconds()


def pin_to_cores() -> None:
    """$FLOOD_CORES=N: this process and every flood it starts on the first N cores (1: a Pi Zero's one core,
    where whatever CPU the wizard spends during a flood is taken from the command)."""
    if os.environ.get("FLOOD_CORES"):
        os.sched_setaffinity(0, set(range(int(os.environ["FLOOD_CORES"]))))


def main() -> None:
    pin_to_cores()
    lines, rounds, result_path = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    first_round = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    folder = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    os.environ["PISERVER_WIZARD_STATE_DIR"] = str(folder / "state")
    os.environ["FLOOD_REPORT"] = str(folder / "walls")  # the floods' own times, in the order they ran
    app = FloodApp(lines, rounds, folder, first_round)
    app.run()
    reports = re.findall(r"child-wall ([0-9.]+) child-cpu ([0-9.]+)", (folder / "walls").read_text())
    flood_ids = [step.id for step in app.steps if step.id != "settle"]
    by_step = {step: float(wall) for step, (wall, _) in zip(flood_ids, reports, strict=False)}
    cpu_by_step = {step: float(cpu) for step, (_, cpu) in zip(flood_ids, reports, strict=False)}
    windows = [app.windows.get(f"pane-{r}", [0.0, 0.0, 0.0, 0.0]) for r in range(rounds)]
    result_path.write_text(json.dumps({
        "lines": lines, "bare": [by_step[f"bare-{r}"] for r in range(rounds)],
        "file": [by_step[f"file-{r}"] for r in range(rounds)],
        "wizard": [by_step[f"pane-{r}"] for r in range(rounds)],
        "child_cpu": {kind: [cpu_by_step[f"{step}-{r}"] for r in range(rounds)]
                      for kind, step in (("bare", "bare"), ("file", "file"), ("wizard", "pane"))},
        "windows": [window[:2] for window in windows],
        "cpu": sum(window[3] - window[2] for window in windows) / rounds,
        "cpu_floor": sum(w[3] - w[2] for w in (app.windows[f"file-{r}"] for r in range(rounds))) / rounds,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "max_backlog_bytes": app.backlog,
        "log_bytes": (folder / "run.log").stat().st_size,
    }))
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
