"""The wizard's first run against the same work done by hand, from scratch, in booted lab containers.

Why: issue 19 asks that a first run costs no more than 1.10x of the bare minimum a person would type
(one apt-get install of the same packages, a venv, pip install flask gunicorn, certbot --nginx), and that
every package comes in one apt transaction (each apt-get re-reads the package database and dpkg runs its
triggers again: man-db alone takes tens of seconds per dpkg run on a Pi Zero).

Every trial gets a fresh container (tests/container_lab.py: systemd as PID 1, a network namespace and a
pebble of its own, the offline layer's apt lists, .debs and pip wheelhouse, so the mirror is not
measured). The kinds run alternately, in a rotating order, N rounds; the report gives the medians, the
ratio of the medians, and the dpkg runs of each trial, counted from the container's /var/log/dpkg.log:
every dpkg process writes one `startup` line when it starts, so the new `startup` lines are the dpkg runs
(apt's own transactions are counted from /var/log/apt/history.log's `Start-Date:` lines). "Before": the
wheel of an older main (`--old`, default the commit before the one `packages` step, 404bba5) runs the
same answers in the same run. Nothing here asserts a time.

    sudo .venv-test/bin/python bench/first_run.py [--suite bookworm|trixie] [--rounds 2] [--old COMMIT|none]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from container_lab import WIZARD, WIZARD_ENV, booted_lab  # noqa: E402
from site_checks import https_get  # noqa: E402
from systemd_container import Container  # noqa: E402

OLD_MAIN = "0431dcd"  # main just before 404bba5 ("One apt transaction"): four apt-get installs
DOMAINS = ("bench.test", "www.bench.test")
# What the wizard's plan installs for these answers on systemd (certbot.timer renews, so no cron):
# wizard/steps/system.py needed_packages; the bench checks the wizard's own step title says the same.
PACKAGES = ("nginx", "python3-venv", "supervisor", "certbot", "python3-certbot-nginx")
ANSWERS = """\
[site]
domains = {domains}
[app]
name = "bench"
user = "pi"
directory = "/home/pi/bench"
workers = 2
bind = "127.0.0.1:8000"
[system]
update_packages = false  # the lab's offline layer has the lists and the packages
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{server}"
renewal = "auto"
"""
APP_PY = 'from flask import Flask\napp = Flask(__name__)\n\n\n@app.get("/")\ndef hello():\n    return "Hello, World!"\n'
PROGRAM = """[program:bench]
command=/home/pi/bench/venv/bin/gunicorn -w 2 -b 127.0.0.1:8000 app:app
directory=/home/pi/bench
user=pi
autostart=true
autorestart=true
"""
SITE = """server {{
    listen 80;
    server_name {names};
    location / {{ proxy_pass http://127.0.0.1:8000; proxy_set_header Host $host; }}
}}
"""


@dataclass
class Trial:
    kind: str
    seconds: float
    dpkg_runs: int
    apt_runs: int
    steps: list[tuple[str, float]] = field(default_factory=list)  # the wizard's own per-step times


def dpkg_counts(box: Container) -> tuple[int, int]:
    """(dpkg runs, apt transactions) so far: `startup` lines of dpkg.log, `Start-Date:` of apt's history."""
    out = box.run(["sh", "-c", "grep -c ' startup ' /var/log/dpkg.log; grep -c '^Start-Date:' "
                   "/var/log/apt/history.log"], timeout=30, check=False).stdout.split()
    return int(out[0]) if out else 0, int(out[1]) if len(out) > 1 else 0


def prepare(box: Container, net, folder: Path) -> None:
    """What both sides get before the clock starts: the app user (a Pi has it), and the answers."""
    box.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], timeout=60)
    answers = folder / "answers.toml"
    answers.write_text(ANSWERS.format(domains=list(DOMAINS), server=net.acme["ACME_DIRECTORY_URL"]).replace("'", '"'))
    box.copy_in(answers, "/root/answers.toml")


def by_wizard(box: Container, net) -> list[tuple[str, float]]:
    """The wizard's first run; its per-step times (headless prints `label (N.N s)`) are the profile."""
    done = box.run([*WIZARD, "--answers", "/root/answers.toml"], timeout=1800, check=False, env=WIZARD_ENV)
    if done.returncode != 0:
        raise RuntimeError(f"the wizard's first run failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    said = re.search(r"Install the system packages \(([^)]*)\)", done.stdout)
    if said and tuple(said.group(1).split(", ")) != PACKAGES:  # older mains install in several steps
        raise RuntimeError(f"the wizard installs {said.group(1)}, by hand installs {', '.join(PACKAGES)}")
    steps = [(m.group(1).strip(), float(m.group(2))) for m in re.finditer(r"^(.*) \((\d+\.\d) s\)$", done.stdout, re.M)]
    split = re.search(r"commands [\d.]+ s, checks [\d.]+ s, the wizard itself [\d.]+ s", done.stdout)
    if split:
        steps.append((split.group(0), 0.0))
    return steps


def by_hand(box: Container, net) -> list[tuple[str, float]]:
    """The bare minimum of the same work: one apt-get install, venv, pip, the app under supervisor behind
    nginx, certbot --nginx for the same names against the same pebble."""
    steps: list[tuple[str, float]] = []

    def timed(label: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        started = time.monotonic()
        box.run(argv, timeout=1800, env=env)
        steps.append((label, time.monotonic() - started))

    apt = {"DEBIAN_FRONTEND": "noninteractive"}
    timed("apt-get install", ["apt-get", "install", "-y", "-q", *PACKAGES], env=apt)
    pi = ["runuser", "-u", "pi", "--"]
    timed("venv", [*pi, "python3", "-m", "venv", "/home/pi/bench/venv"])
    timed("pip install", [*pi, "/home/pi/bench/venv/bin/pip", "install", "-q", "flask", "gunicorn"],
          env={"HOME": "/home/pi"})
    box.run([*pi, "sh", "-c", 'printf "%s" "$1" > /home/pi/bench/app.py', "sh", APP_PY], timeout=30)
    box.run(["sh", "-c", 'printf "%s" "$1" > /etc/supervisor/conf.d/bench.conf', "sh", PROGRAM], timeout=30)
    site = SITE.format(names=" ".join(DOMAINS))
    box.run(["sh", "-c", 'printf "%s" "$1" > /etc/nginx/sites-enabled/bench', "sh", site], timeout=30)
    timed("supervisor update, nginx reload", ["sh", "-c", "supervisorctl update && systemctl reload nginx"])
    certbot = ["certbot", "--nginx", "--non-interactive", "--agree-tos", "-m", "admin@example.com",
               "--server", net.acme["ACME_DIRECTORY_URL"], "--redirect"]
    timed("certbot --nginx", [*certbot, *(arg for name in DOMAINS for arg in ("-d", name))], env=WIZARD_ENV)
    return steps


def trial(kind: str, suite: str, wheel: Path, work: Callable, index: int, folder: Path) -> Trial:
    """One fresh container: prepare, time `work`, check the site answers over HTTPS, count dpkg runs."""
    with booted_lab(suite, f"firstrun-{re.sub(r'[^a-z0-9]+', '-', kind)}-{index}", wheel) as (net, box):
        prepare(box, net, folder)
        dpkg_before, apt_before = dpkg_counts(box)
        started = time.monotonic()
        steps = work(box, net)
        seconds = time.monotonic() - started
        dpkg_after, apt_after = dpkg_counts(box)
        with net.inside():
            status, text, _ = https_get(DOMAINS[1], net.root_pem(folder / "root.pem"))
        if status != 200 or "Hello, World!" not in text:
            raise RuntimeError(f"{kind}: the site did not answer over HTTPS ({status} {text[:200]!r})")
        return Trial(kind, seconds, dpkg_after - dpkg_before, apt_after - apt_before, steps)


def build_wheel(source: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
                   check=True, timeout=600)
    return next(out.glob("piserver_wizard-*.whl"))


@contextlib.contextmanager
def old_wheel(commit: str, folder: Path) -> Iterator[Path]:
    """The wheel of an older main, built from a worktree of it (removed afterwards)."""
    tree = folder / f"old-{commit}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit], check=True,
                   capture_output=True, timeout=120)
    try:
        yield build_wheel(tree, folder / "old-wheel")
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True,
                       timeout=120)


def _per_round(trials: list[Trial], kind: str) -> str:
    """Each round's ratio to that round's by-hand trial (neighbours in time share the machine's load)."""
    rounds = len([t for t in trials if t.kind == "by hand"])
    mine, hand = [t for t in trials if t.kind == kind], [t for t in trials if t.kind == "by hand"]
    ratios = sorted(mine[i].seconds / hand[i].seconds for i in range(min(rounds, len(mine))))
    if not ratios:
        return ""
    return f" (per round: median {statistics.median(ratios):.2f}x, {ratios[0]:.2f}-{ratios[-1]:.2f}x)"


def report(trials: list[Trial], suite: str, old: str | None) -> None:
    """Medians per kind, the ratios against by hand, every trial's dpkg count, the slowest wizard steps."""
    kinds = [k for k in ("by hand", "wizard", f"wizard {old}") if any(t.kind == k for t in trials)]
    median = {k: statistics.median(t.seconds for t in trials if t.kind == k) for k in kinds}
    print(f"\nfirst run from scratch, {suite} lab container, {len(trials) // len(kinds)} rounds (medians):")
    for kind in kinds:
        mine = [t for t in trials if t.kind == kind]
        runs = ", ".join(f"{t.seconds:.1f} s" for t in mine)
        dpkg = sorted({t.dpkg_runs for t in mine})
        apt = sorted({t.apt_runs for t in mine})
        ratio = f"  {median[kind] / median['by hand']:.2f}x by hand{_per_round(trials, kind)}" \
            if kind != "by hand" else ""
        print(f"  {kind:<16} {median[kind]:6.1f} s{ratio}   dpkg runs {dpkg}, apt transactions {apt}   ({runs})")
    for kind in kinds:
        best = min((t for t in trials if t.kind == kind), key=lambda t: abs(t.seconds - median[kind]))
        print(f"\n  {kind}, the trial nearest the median, its parts of 0.3 s or more:")
        for label, seconds in sorted(best.steps, key=lambda s: -s[1]):
            if seconds >= 0.3:
                print(f"    {seconds:6.1f} s  {label}")
            elif not seconds:  # the wizard's own split of its time
                print(f"              {label}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="bookworm", choices=("bookworm", "trixie"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--old", default=OLD_MAIN, help="an older main to measure beside (or 'none')")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        wheel = build_wheel(REPO, folder / "wheel")
        kinds: list[tuple[str, Path, Callable]] = [("by hand", wheel, by_hand), ("wizard", wheel, by_wizard)]
        old = None if args.old == "none" else args.old
        if old:
            kinds.append((f"wizard {old}", stack.enter_context(old_wheel(old, folder)), by_wizard))
        trials = []
        for round_ in range(args.rounds):
            for offset in range(len(kinds)):  # a rotating order: no kind always first or last
                kind, whl, work = kinds[(round_ + offset) % len(kinds)]
                trials.append(trial(kind, args.suite, whl, work, len(trials), folder))
                print(f"round {round_ + 1}: {kind}: {trials[-1].seconds:.1f} s, dpkg runs {trials[-1].dpkg_runs}",
                      flush=True)
        report(trials, args.suite, old)
    return 0


if __name__ == "__main__":
    sys.exit(main())
