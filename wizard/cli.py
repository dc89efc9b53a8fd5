"""The command line: ``--answers`` runs headless; no arguments opens the TUI.

Only this module decides which front end runs. ``--version``, ``--help`` and every ``--answers`` path stay
free of Textual: on a Pi Zero importing it costs more than a second.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import EXIT_OK, EXIT_USAGE, __version__


def _formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's own formatter, told the width: left to find it, it imports shutil (and bz2, lzma)."""
    try:
        width = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
    except (ValueError, OSError):
        width = 80
    return argparse.HelpFormatter(prog, width=max(width - 2, 40))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="piserver-wizard",
        formatter_class=_formatter,
        description="Turn a Raspberry Pi running Raspberry Pi OS / Debian 12 (bookworm) or 13 (trixie) into "
                    "a web host: nginx, "
                    "gunicorn + Flask under supervisor, Let's Encrypt HTTPS. It changes the system, so run it "
                    "with sudo: 'sudo piserver-wizard' asks step by step in a terminal UI; "
                    "'sudo piserver-wizard --answers FILE' runs unattended.",
        epilog="Exit status: 0 done, 1 a step failed (run the same command again to resume), 2 a wrong answer "
               "or option.\n\n"
               "After the install, per app: " + ", ".join(_VERB_NAMES) + " (sudo piserver-wizard VERB --help).",
    )
    p.add_argument("--version", action="version", version=f"piserver-wizard {__version__}")
    p.add_argument("--answers", metavar="FILE", help="run unattended from this TOML answers file")
    p.add_argument("--example-answers", action="store_true",
                   help="print a complete, commented answers file to start from, then exit "
                        "(piserver-wizard --example-answers > answers.toml)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the answers and the machine, print the plan and every file it would write; "
                        "change nothing")
    p.add_argument("--json", action="store_true",
                   help="with --answers: print one JSON document of the result on stdout at the end (steps, "
                        "changed, failed, urls; diffs with --dry-run); progress goes to stderr")
    p.add_argument("-v", "--verbose", action="store_true", help="show each command's output as it runs")
    p.add_argument("--check", action="store_true", help="only check the answers file, then exit")
    p.add_argument("--force", action="store_true",
                   help="go on despite a preflight refusal (another system than Debian 12/13, port 80 held by "
                        "another program, little disk...)")
    return p


def _fail_usage(message: str) -> int:
    print(f"piserver-wizard: {message}", file=sys.stderr)
    return EXIT_USAGE


def _can_act_as_root() -> str | None:
    """Headless runs cannot ask for a password: they need root or passwordless sudo, said up front."""
    if os.geteuid() == 0:
        return None
    import subprocess

    try:
        ok = subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if ok:
        return None
    return ("--answers needs root or passwordless sudo (it cannot ask for a password): "
            "run it as 'sudo piserver-wizard --answers FILE'")


_VERB_NAMES = ("status", "doctor", "logs", "restart", "remove")  # wizard.verbs.VERBS, without importing it


def _again_as_root(argv: list[str]) -> int:
    """The TUI started by a normal user: sudo asks for the password in this terminal, once, before anything
    starts; the whole wizard then runs as root, so no command's output is ever read for a password prompt."""
    import shutil

    sudo = shutil.which("sudo")
    if sudo is None:
        return _fail_usage("the wizard changes the system: run it as root ('sudo piserver-wizard')")
    print("piserver-wizard changes the system, so it runs as root: sudo asks for your password.", file=sys.stderr)
    sys.stderr.flush()
    os.execv(sudo, [sudo, "--", sys.executable, "-I", "-m", "wizard", *argv])
    return EXIT_USAGE  # not reached


def _check(path: str) -> int:
    """Validation only: the lightest path, neither the engine nor the typed model; warnings go to stderr."""
    from .schema import AnswersError, advice, load, with_defaults

    has_systemd = os.path.isdir("/run/systemd/system")
    try:
        values = load(path, has_systemd=has_systemd)
    except AnswersError as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    for dotted, message in advice(with_defaults(values), has_systemd=has_systemd):
        print(f"piserver-wizard: warning: {path}: {dotted}: {message}", file=sys.stderr)
    print(f"{path}: the answers are valid")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in _VERB_NAMES:
        from .verbs import run as run_verb

        return run_verb(argv)
    args = parser().parse_args(argv)
    if args.example_answers:  # before anything else: no Textual, no engine, no root needed
        from .example import example_text

        sys.stdout.write(example_text())
        return EXIT_OK
    if args.answers is None:
        if args.dry_run or args.check or args.json:
            return _fail_usage("--dry-run, --check and --json need --answers FILE")
        if os.geteuid() != 0:
            return _again_as_root(argv)
        from screens.app import run_tui  # the only import of the UI, and only here

        return run_tui()
    if args.check:
        return _check(args.answers)
    from pathlib import Path

    from .headless import INTERRUPTED, run_unattended

    try:
        return run_unattended(Path(args.answers), as_json=args.json, dry_run=args.dry_run, verbose=args.verbose,
                              force=args.force, privilege_problem=_can_act_as_root)
    except KeyboardInterrupt:
        print("\n" + INTERRUPTED, file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
