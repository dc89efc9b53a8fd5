"""piserver-wizard's benchmarks: every figure is a ratio of two things measured side by side in one run.

This machine (and a Pi) is shared and noisy, so each pair is measured interleaved, several rounds, and
the median of each side is compared. Nothing here asserts a time; it prints figures and the targets.

    python bench/run.py [--lines 1000000] [--rounds 5] [--rerun-answers FILE] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
WIZARD = shutil.which("piserver-wizard") or str(Path(PYTHON).with_name("piserver-wizard"))


def timed(argv: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - started


def interleaved(measures: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Median of each measure, taken round-robin so a noisy moment hits all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            samples[name].append(measure())
    return {name: statistics.median(values) for name, values in samples.items()}


def line(label: str, value: str, target: str = "") -> None:
    print(f"  {label:52} {value:>18}  {target}")


def startup(rounds: int) -> None:
    print("Startup (median wall time from exec, against a bare start of the same interpreter)")
    answers = str(REPO / "examples" / "answers.toml")
    env = {**os.environ, "PISERVER_WIZARD_OFFLINE": "1"}
    results = interleaved({
        "python -c pass": lambda: timed([PYTHON, "-c", "pass"]),
        "--version": lambda: timed([WIZARD, "--version"]),
        "--help": lambda: timed([WIZARD, "--help"]),
        "--answers FILE --check": lambda: timed([WIZARD, "--answers", answers, "--check"], env=env),
        "python -c 'import textual.app'": lambda: timed([PYTHON, "-c", "import textual.app"]),
    }, rounds)
    bare = results["python -c pass"]
    line("python -c pass", f"{bare * 1000:.0f} ms")
    for name in ("--version", "--help", "--answers FILE --check"):
        line(f"piserver-wizard {name}", f"{results[name] * 1000:.0f} ms  {results[name] / bare:.2f}x",
             "target <= 3x")
    textual = results["python -c 'import textual.app'"]
    line("python -c 'import textual.app'", f"{textual * 1000:.0f} ms")
    first_frame = tui_first_frame(rounds)
    if first_frame is not None:
        line("TUI first full frame (welcome with the hostname)", f"{first_frame * 1000:.0f} ms  "
             f"{first_frame / textual:.2f}x", "against import textual.app")


def tui_first_frame(rounds: int) -> float | None:
    """From exec to the welcome screen naming this host, in a real 80x24 pty; then Ctrl+Q."""
    import socket

    import pexpect

    host = socket.gethostname()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        child = pexpect.spawn(WIZARD, [], dimensions=(24, 80), env={**os.environ, "TERM": "xterm-256color"},
                              encoding="utf-8", codec_errors="replace", timeout=60)
        try:
            child.expect_exact(host)
            times.append(time.perf_counter() - started)
            child.sendcontrol("q")
            child.expect(pexpect.EOF, timeout=20)
        except (pexpect.TIMEOUT, pexpect.EOF):
            child.close(force=True)
            return None
        child.close(force=True)
    return statistics.median(times)


def flood_child(lines: int) -> float:
    """The flood writing to /dev/null: the child's own wall time, the baseline of the ratio."""
    done = subprocess.run([PYTHON, str(HERE / "flood.py"), str(lines)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=True)
    return float(done.stderr.split()[-1])


def flood_runner(lines: int, mode: str) -> dict:
    if mode == "tui":
        return flood_tui(lines)
    done = subprocess.run([PYTHON, str(HERE / "flood_runner.py"), str(lines)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def flood_tui(lines: int) -> dict:
    """The TUI in a real 80x24 pty; every byte it sends to the terminal is counted with its arrival time."""
    import tempfile

    import pexpect

    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        child = pexpect.spawn(PYTHON, [str(HERE / "flood_tui.py"), str(lines), str(result)], dimensions=(24, 80),
                              env={**os.environ, "TERM": "xterm-256color"}, timeout=None)
        arrivals: list[tuple[float, int]] = []
        while True:
            try:
                data = child.read_nonblocking(1 << 16, timeout=600)
            except pexpect.EOF:
                break
            arrivals.append((time.monotonic(), len(data)))
        child.close()
        measured = json.loads(result.read_text())
    during = sum(size for at, size in arrivals if measured["started"] <= at <= measured["ended"])
    measured["tty_bytes_per_s"] = during / max(measured["ended"] - measured["started"], 1e-6)
    return measured


def streaming(lines: int, rounds: int) -> None:
    print(f"Streaming {lines:,} apt-like lines through the runner (child's own wall time, median of {rounds})")
    modes = ["headless", "tui"]
    bare: list[float] = []
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for _ in range(rounds):
        bare.append(flood_child(lines))
        for mode in modes:
            runs[mode].append(flood_runner(lines, mode))
    base = statistics.median(bare)
    line("child writing to /dev/null", f"{base:.3f} s  (best {min(bare):.3f} s)")
    for mode in modes:
        child = statistics.median(r["child_wall"] for r in runs[mode])
        best = min(r["child_wall"] for r in runs[mode])
        cpu = statistics.median(r["cpu"] for r in runs[mode])
        line(f"child under the wizard, {mode}", f"{child:.3f} s  {child / base:.2f}x", "target <= 1.10x")
        line("  best against best (least disturbed by the machine)", f"{best / min(bare):.2f}x")
        line(f"  the wizard's own CPU time during the flood ({mode})", f"{cpu:.2f} s")
        if "tty_bytes_per_s" in runs[mode][0]:
            rate = statistics.median(r["tty_bytes_per_s"] for r in runs[mode])
            line("  bytes to the 80x24 terminal per second", f"{rate / 1000:.0f} KB/s", "aim <= 200 KB/s")
            backlog = max(r.get("max_backlog_bytes", 0) for r in runs[mode])
            line("  largest backlog waiting for the pane at a flush", f"{backlog / 1000:.0f} KB")
    for mode in modes:
        small = flood_runner(1000, mode)["maxrss_kb"]
        big = statistics.median(r["maxrss_kb"] for r in runs[mode])
        line(f"peak RSS, {mode}: {lines:,} lines against 1,000", f"{big / 1024:.1f} / {small / 1024:.1f} MB  "
             f"{big / small:.2f}x", "bounded: close to 1x")


def rerun(answers: Path, rounds: int) -> None:
    print("No-op re-run of a finished setup, against the probe of the machine alone")
    env = {**os.environ, "PISERVER_WIZARD_OFFLINE": "1"}
    results = interleaved({
        "probe": lambda: timed([PYTHON, "-c", "from wizard.facts import probe; probe()"]),
        "rerun": lambda: timed([WIZARD, "--answers", str(answers)], env=env),
    }, rounds)
    line("probe of the machine (facts)", f"{results['probe'] * 1000:.0f} ms")
    line("no-op re-run, whole command", f"{results['rerun'] * 1000:.0f} ms  {results['rerun'] / results['probe']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rerun-answers", type=Path, help="answers of a finished setup on this machine")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the benchmarks run, not the figures")
    args = parser.parse_args()
    if args.smoke:
        args.lines, args.rounds = 20_000, 1
    print(f"piserver-wizard benchmarks on {os.uname().nodename} ({os.cpu_count()} cores); {PYTHON}")
    startup(args.rounds)
    streaming(args.lines, args.rounds)
    if args.rerun_answers:
        rerun(args.rerun_answers, args.rounds)


if __name__ == "__main__":
    main()
