"""The benchmarks run (tiny sizes): CI checks they work; their figures never fail a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_benchmarks_smoke_run(as_root: None) -> None:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--smoke"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("piserver-wizard --version", "--answers FILE --check", "TUI first full frame",
                   "headless: the child under the wizard", "tui: the child under the wizard",
                   "bytes to the 80x24 terminal per second", "peak RSS"):
        assert figure in done.stdout, done.stdout
