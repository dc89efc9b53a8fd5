"""The flood through the wizard's real runner, headless (run log + line printer), paired with bare runs.

    python bench/flood_runner.py LINES ROUNDS

Each round runs the flood three times through the same runner, in each of the six orders in turn (so
each kind of flood follows each other kind as often: a rotation of three puts the wizard's after the
file's two rounds in three, and the page cache a flood leaves behind is not the same): writing to /dev/null
(the baseline), appending to a plain file nobody reads (the floor: what storing the bytes costs), and with
its output going where the wizard puts it. Runs taken back to back cancel most of this shared machine's
drift. Prints one JSON object: the child's own wall and CPU times, the wizard's CPU time during its
floods, and its peak RSS.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import resource
import sys
import tempfile
from pathlib import Path

from wizard.commands import Command, Privilege
from wizard.headless import LinePrinter
from wizard.runner import PexpectRunner
from wizard.transcript import Transcript

FLOOD = str(Path(__file__).with_name("flood.py"))
ORDERS = list(itertools.permutations(("bare", "file", "wizard")))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pin_to_cores() -> None:
    """$FLOOD_CORES=N: this process and every flood it starts on the first N cores (1: a Pi Zero's one core,
    where whatever CPU the wizard spends during a flood is taken from the command)."""
    if os.environ.get("FLOOD_CORES"):
        os.sched_setaffinity(0, set(range(int(os.environ["FLOOD_CORES"]))))


def main() -> None:
    pin_to_cores()
    lines, rounds = int(sys.argv[1]), int(sys.argv[2])
    folder = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    transcript = Transcript(folder / "run.log")
    printer = LinePrinter(io.StringIO(), verbose=False)

    def emit(event: object) -> None:
        transcript(event)  # type: ignore[arg-type]
        printer(event)  # type: ignore[arg-type]

    runner = PexpectRunner(emit, privilege=Privilege(is_root=True), log=transcript)

    child_cpu: dict[str, list[float]] = {"bare": [], "file": [], "wizard": []}

    def child_wall(*target: str) -> float:
        result = runner.run("flood", Command.of(sys.executable, FLOOD, str(lines), *target, timeout=3600))
        assert result.exit_code == 0, result.tail
        wall, cpu = re.findall(r"child-wall ([0-9.]+) child-cpu ([0-9.]+)", result.tail)[-1]
        child_cpu["file" if target and target[0] != "/dev/null" else "bare" if target else "wizard"].append(
            float(cpu))
        return float(wall)

    plain = folder / "plain.out"
    walls: dict[str, list[float]] = {"bare": [], "file": [], "wizard": []}
    cpu = 0.0
    for round_ in range(rounds):
        for which in ORDERS[round_ % len(ORDERS)]:
            if which == "bare":
                walls["bare"].append(child_wall("/dev/null"))
            elif which == "file":  # the floor: the same bytes into a plain file, nobody reading them
                walls["file"].append(child_wall(str(plain)))
                plain.unlink()
            else:
                before = cpu_seconds()
                walls["wizard"].append(child_wall())
                cpu += cpu_seconds() - before
                os.truncate(folder / "run.log", 0)  # one flood per log, as in a real run (no 2 GB writeback)
    transcript.close()
    print(json.dumps({
        "lines": lines, **walls, "child_cpu": child_cpu, "cpu": cpu / rounds,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "log_bytes": (folder / "run.log").stat().st_size,
    }))
    (folder / "run.log").unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
