"""The flood through the real TUI: the run screen, its batched Log pane, in the terminal it is given.

Started by bench/run.py inside an 80x24 pty (which counts the bytes the app sends to the terminal).
Writes one JSON object to the file named by its second argument: the child's own wall time, the app's CPU
time and peak RSS, the run's start and end on the monotonic clock, and the largest backlog of output the
pane had waiting at a flush.
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from screens.app import WizardApp
from screens.finish import FinishScreen
from screens.run import RunScreen
from wizard.answers import Answers, HttpsAnswers, SiteAnswers
from wizard.commands import Command
from wizard.facts import Facts
from wizard.plan import Plan, Step
from wizard.session import Session
from wizard.state import State

FLOOD = str(Path(__file__).with_name("flood.py"))


class FloodApp(WizardApp):
    """The wizard's app, started straight on the run screen with one step: the flood."""

    CSS_PATH = str(Path(sys.modules[WizardApp.__module__].__file__ or "").with_name("app.tcss"))

    def __init__(self, lines: int, folder: Path) -> None:
        super().__init__(facts=Facts(hostname="bench", systemd=False, cores=os.cpu_count() or 1),
                         state=State(folder / "state.json"), log_path=lambda: folder / "run.log",
                         saved_answers=folder / "answers.toml")
        self.lines, self.folder = lines, folder
        self.started = self.ended = 0.0
        self.backlog = 0

    def on_mount(self) -> None:
        answers = Answers(site=SiteAnswers(domains=["flood.test"]), https=HttpsAnswers(enabled=False))
        step = Step("flood", f"Print {self.lines:,} apt-like lines",
                    commands=[Command.of(sys.executable, FLOOD, str(self.lines), timeout=3600)],
                    is_done=lambda: False)
        session = Session(answers, self.facts, self.state, Plan(answers, self.facts, [step]))  # type: ignore[arg-type]
        self.started = time.monotonic()
        self.install(session)
        self.set_interval(0.05, self._watch)

    def _watch(self) -> None:
        screen = self.screen
        if isinstance(screen, RunScreen):
            waiting = sum(len(chunk) for chunks in screen._pending.values() for chunk in chunks)
            self.backlog = max(self.backlog, waiting)
        if isinstance(screen, FinishScreen) and not self.ended:
            self.ended = time.monotonic()
            self.exit()


def main() -> None:
    lines, result_path = int(sys.argv[1]), Path(sys.argv[2])
    folder = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    os.environ["PISERVER_WIZARD_STATE_DIR"] = str(folder / "state")
    before = resource.getrusage(resource.RUSAGE_SELF)
    app = FloodApp(lines, folder)
    app.run()
    after = resource.getrusage(resource.RUSAGE_SELF)
    log = (folder / "run.log").read_text(errors="replace")
    child = float(re.findall(r"child-wall ([0-9.]+)", log)[-1])
    result_path.write_text(json.dumps({
        "lines": lines, "child_wall": child, "started": app.started, "ended": app.ended,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "maxrss_kb": after.ru_maxrss, "max_backlog_bytes": app.backlog, "log_bytes": len(log),
    }))


if __name__ == "__main__":
    main()
