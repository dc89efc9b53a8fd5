"""A first run from scratch, in a booted Debian (systemd as PID 1): the wizard against the bare minimum.

The bare minimum is the same work typed by hand, the fewest commands that do it: one `apt-get update`,
one `apt-get install` of every package, the venv, pip, `certbot certonly` and `certbot renew --dry-run`.
Each round boots two fresh containers from the same cached root, one after the other (they share the
host's ports), the order rotating; both download from the same mirror. Besides the wall time it counts
what the issue is about: apt transactions (apt's history.log) and dpkg runs (dpkg.log's "startup" lines:
each one re-reads the package database and may run triggers). Nothing asserts a time.

    sudo flock /work/e2e.lock .venv-test/bin/python bench/first_run.py [--suite bookworm] [--rounds 1]
        [--before TREE]      # TREE: a source tree of an earlier version, e.g. from `git archive`
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from systemd_container import DEFAULT_CACHE_DIR, Container, booted, build_root  # noqa: E402

ACME_ENV = Path("/run/piserver-acme/env")
ANSWERS = """\
[site]
domains = ["bench.test"]
[app]
name = "bench"
user = "pi"
directory = "/home/pi/bench"
workers = 1
bind = "127.0.0.1:4650"
[https]
email = "admin@example.com"
agree_tos = true
acme_server = "{server}"
renewal = "auto"
"""
ENV = {"REQUESTS_CA_BUNDLE": "/etc/ssl/acme-test-bundle.pem", "PISERVER_WIZARD_OFFLINE": "1"}
PACKAGES = ["nginx", "python3-venv", "supervisor", "certbot", "python3-certbot-nginx"]


def acme() -> dict[str, str]:
    subprocess.run(["bash", str(REPO / ".ci" / "acme-up")], check=True, capture_output=True, timeout=120)
    return dict(line.split("=", 1) for line in ACME_ENV.read_text().splitlines() if "=" in line)


def wheel(folder: Path, tree: Path = REPO) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder), str(tree)],
                   check=True, timeout=600)
    return next(folder.glob("piserver_wizard-*.whl"))


def prepare(box: Container, whl: Path, facts: dict[str, str], folder: Path) -> None:
    """What a Pi owner has before the first run: a user, the wizard installed, the answers."""
    box.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], timeout=60)
    box.copy_in(whl, f"/root/{whl.name}")
    box.run(["python3", "-m", "venv", "/opt/piserver-wizard"], timeout=300)
    box.run(["/opt/piserver-wizard/bin/pip", "install", "-q", f"/root/{whl.name}"], timeout=900)
    box.copy_in(Path(facts["ACME_CA_BUNDLE"]), "/root/pebble-ca.pem")
    box.run(["sh", "-c", "cat /etc/ssl/certs/ca-certificates.crt /root/pebble-ca.pem > /etc/ssl/acme-test-bundle.pem"],
            timeout=30)
    answers = folder / "bench-answers.toml"
    answers.write_text(ANSWERS.format(server=facts["ACME_DIRECTORY_URL"]))
    box.copy_in(answers, "/root/answers.toml")


def counts(box: Container) -> tuple[int, int]:
    """(apt transactions, dpkg runs) so far in this container's logs."""
    def lines(path: str, word: str) -> int:
        done = box.run(["sh", "-c", f"grep -c '{word}' {path} || true"], timeout=30)
        return int(done.stdout.strip() or 0)
    return lines("/var/log/apt/history.log", "^Start-Date"), lines("/var/log/dpkg.log", " startup ")


def wizard(box: Container, facts: dict[str, str]) -> None:
    done = box.run(["/opt/piserver-wizard/bin/piserver-wizard", "--answers", "/root/answers.toml"],
                   timeout=1800, check=False, env=ENV)
    if done.returncode != 0:
        raise SystemExit(f"the wizard failed:\n{done.stdout}\n{done.stderr}")


def bare(box: Container, facts: dict[str, str]) -> None:
    server = facts["ACME_DIRECTORY_URL"]
    apt = ["apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
    for argv in ([*apt, "update"], [*apt, "install", *PACKAGES],
                 ["runuser", "-u", "pi", "--", "python3", "-m", "venv", "/home/pi/bare/venv"],
                 ["runuser", "-u", "pi", "--", "env", "HOME=/home/pi", "/home/pi/bare/venv/bin/pip", "install",
                  "-q", "flask", "gunicorn"],
                 ["certbot", "certonly", "--webroot", "-w", "/var/www/html", "-n", "--agree-tos", "-m",
                  "admin@example.com", "--cert-name", "bench", "-d", "bench.test", "--server", server],
                 ["certbot", "renew", "--dry-run", "--cert-name", "bench", "-n", "--no-random-sleep-on-renew",
                  "--server", server]):
        box.run(argv, timeout=1800, env=ENV)


def one(kind: str, root: Path, whl: Path, facts: dict[str, str], folder: Path) -> tuple[float, int, int]:
    with booted(root, f"piserver-bench-{kind}") as box:
        if kind.startswith("wizard"):
            prepare(box, whl, facts, folder)
        else:
            box.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], timeout=60)
            box.copy_in(Path(facts["ACME_CA_BUNDLE"]), "/root/pebble-ca.pem")
            box.run(["sh", "-c", "cat /etc/ssl/certs/ca-certificates.crt /root/pebble-ca.pem "
                                 "> /etc/ssl/acme-test-bundle.pem"], timeout=30)
        apt0, dpkg0 = counts(box)
        started = time.monotonic()
        (wizard if kind.startswith("wizard") else bare)(box, facts)
        seconds = time.monotonic() - started
        apt1, dpkg1 = counts(box)
    return seconds, apt1 - apt0, dpkg1 - dpkg0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--suite", default="bookworm")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--before", type=Path, metavar="TREE",
                        help="also run the wizard built from this source tree (an earlier version), as 'before'")
    args = parser.parse_args()
    facts = acme()
    root = build_root(DEFAULT_CACHE_DIR, args.suite)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = {"wizard": wheel(Path(tmp) / "now")}
        if args.before:
            wheels["wizard-before"] = wheel(Path(tmp) / "before", args.before)
        results: dict[str, list[tuple[float, int, int]]] = {kind: [] for kind in [*wheels, "bare"]}
        kinds = list(results)
        for round_ in range(args.rounds):
            shift = round_ % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                results[kind].append(one(kind, root, wheels.get(kind, wheels["wizard"]), facts, Path(tmp)))
                seconds, apt, dpkg = results[kind][-1]
                print(f"round {round_ + 1} {kind:6}: {seconds:6.1f} s, {apt} apt transactions, {dpkg} dpkg runs",
                      flush=True)
    wiz = statistics.median(r[0] for r in results["wizard"])
    base = statistics.median(r[0] for r in results["bare"])
    print(f"\nfirst run on {args.suite}, from scratch: wizard {wiz:.1f} s, bare minimum {base:.1f} s: "
          f"{wiz / base:.2f}x (target 1.10x or less: {'met' if wiz / base <= 1.10 else 'NOT met'})")
    for kind, rows in results.items():
        print(f"{kind:13}: median {statistics.median(r[0] for r in rows):6.1f} s "
              f"({statistics.median(r[0] for r in rows) / base:.2f}x the bare minimum), "
              f"{rows[-1][1]} apt transactions, {rows[-1][2]} dpkg runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
