"""Runs the flood through the wizard's real runner, headless (transcript + line printer), and reports.

Output, one JSON object: the child's own wall time, the wizard's CPU time and peak RSS.
"""

from __future__ import annotations

import io
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from wizard.commands import Command, Privilege
from wizard.events import Output
from wizard.headless import LinePrinter
from wizard.runner import PexpectRunner
from wizard.transcript import Transcript

FLOOD = str(Path(__file__).with_name("flood.py"))


def main() -> None:
    lines = int(sys.argv[1])
    folder = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    transcript = Transcript(folder / "run.log")
    printer = LinePrinter(io.StringIO(), verbose=False)
    seen = {"bytes": 0}

    def emit(event: object) -> None:
        transcript(event)  # type: ignore[arg-type]
        printer(event)  # type: ignore[arg-type]
        if isinstance(event, Output):
            seen["bytes"] += len(event.text)

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    result = PexpectRunner(emit, privilege=Privilege(is_root=True)).run(
        "flood", Command.of(sys.executable, FLOOD, str(lines), timeout=3600))
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    transcript.close()
    child = float(re.search(r"child-wall ([0-9.]+)", result.tail).group(1))  # type: ignore[union-attr]
    print(json.dumps({
        "lines": lines, "exit": result.exit_code, "child_wall": child, "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "maxrss_kb": after.ru_maxrss, "bytes": seen["bytes"],
        "log_bytes": (folder / "run.log").stat().st_size,
    }))
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
