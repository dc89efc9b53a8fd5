"""Commands as data: an argv list plus what it needs, never a shell string built from answers."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

SUDO_PROMPT = "[piserver-wizard] sudo password for %u: "


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    as_user: str | None = None  # run as this user instead of root (the app's venv and pip)
    env: tuple[tuple[str, str], ...] = ()
    timeout: float = 600.0
    ok_codes: tuple[int, ...] = (0,)
    cwd: str | None = None

    @staticmethod
    def of(*argv: str, as_user: str | None = None, env: dict[str, str] | None = None,
           timeout: float = 600.0, ok_codes: tuple[int, ...] = (0,), cwd: str | None = None) -> "Command":
        return Command(tuple(argv), as_user, tuple(sorted((env or {}).items())), timeout, ok_codes, cwd)

    def display(self) -> str:
        """How the plan shows the command: what a person would type, quoted so it is copyable."""
        prefix = f"(as {self.as_user}) " if self.as_user else ""
        if self.cwd:
            prefix += f"(in {self.cwd}) "
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env)
        # An inline script (python -c) reads as noise when quoted: it is named, not shown.
        words = [f"<script of {a.count(chr(10)) + 1} lines>" if "\n" in a else shlex.quote(a) for a in self.argv]
        return prefix + (env + " " if env else "") + " ".join(words)


@dataclass(frozen=True)
class Privilege:
    """Turns a Command into the argv that really runs: direct as root, through sudo otherwise."""

    is_root: bool = field(default_factory=lambda: os.geteuid() == 0)

    def argv(self, command: Command) -> list[str]:
        env = [f"{k}={v}" for k, v in command.env]
        chdir = ["-C", command.cwd] if command.cwd else []
        inner = (["env", *chdir, *env] if env or chdir else []) + list(command.argv)
        if self.is_root:
            if command.as_user:
                return ["runuser", "-u", command.as_user, "--", *inner]
            return inner
        user = ["-u", command.as_user] if command.as_user else []
        return ["sudo", "-p", SUDO_PROMPT, *user, "--", *inner]
