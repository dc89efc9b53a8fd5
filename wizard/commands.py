"""Commands as data: an argv list plus what it needs, never a shell string built from answers.

How a command is really started is decided here too, once: by absolute path, with a fixed, minimal
environment (what the wizard's own environment holds reaches a command only where its step needs it), as
root or dropped to the app user, directly when the wizard is root and through ``sudo -n`` when it is not.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What a step may ask for from the wizard's environment, by name (Command.needs).
_PROXIES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
PASSED_THROUGH = {
    "proxy": _PROXIES,  # apt
    "ca-bundle": ("REQUESTS_CA_BUNDLE", *_PROXIES),  # certbot and pip talk to servers over HTTPS
    "pip": ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST", "PIP_CERT",
            "PIP_DEFAULT_TIMEOUT"),
}
BASE_ENV = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "dumb",
            "DEBIAN_FRONTEND": "noninteractive", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    as_user: str | None = None  # run as this user instead of root (the app's venv and pip)
    env: tuple[tuple[str, str], ...] = ()
    timeout: float = 600.0
    ok_codes: tuple[int, ...] = (0,)
    cwd: str | None = None
    needs: tuple[str, ...] = ()  # names in PASSED_THROUGH: the parts of our environment this command gets

    @staticmethod
    def of(*argv: str, as_user: str | None = None, env: dict[str, str] | None = None,
           timeout: float = 600.0, ok_codes: tuple[int, ...] = (0,), cwd: str | None = None,
           needs: tuple[str, ...] = ()) -> "Command":
        return Command(tuple(argv), as_user, tuple(sorted((env or {}).items())), timeout, ok_codes, cwd, needs)

    def display(self) -> str:
        """How the plan shows the command: what a person would type, quoted so it is copyable."""
        prefix = f"(as {self.as_user}) " if self.as_user else ""
        if self.cwd:
            prefix += f"(in {self.cwd}) "
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env)
        # An inline script (python -c) reads as noise when quoted: it is named, not shown.
        words = [f"<script of {a.count(chr(10)) + 1} lines>" if "\n" in a else shlex.quote(a) for a in self.argv]
        return prefix + (env + " " if env else "") + " ".join(words)

    def environment(self) -> dict[str, str]:
        """The whole environment the command gets: the base, what its needs name, then its own."""
        env = dict(BASE_ENV, HOME="/root")
        for need in self.needs:
            env.update({key: os.environ[key] for key in PASSED_THROUGH[need] if key in os.environ})
        env.update(dict(self.env))
        return env

    def program(self) -> str:
        """argv[0] by absolute path, looked up in the system's PATH only (never the caller's)."""
        name = self.argv[0]
        return name if "/" in name else shutil.which(name, path=SYSTEM_PATH) or name


@dataclass(frozen=True)
class Privilege:
    """Turns a Command into the argv that really runs: direct as root, through ``sudo -n`` otherwise.

    ``sudo -n`` never asks: a run that is not root needs passwordless sudo (the TUI re-executes itself
    under sudo in the terminal before it starts, see wizard.cli)."""

    is_root: bool = field(default_factory=lambda: os.geteuid() == 0)

    def argv(self, command: Command) -> list[str]:
        inner = [command.program(), *command.argv[1:]]
        if self.is_root:
            return inner  # the app user's commands drop privileges in the runner (setresuid), not here
        env = [f"{k}={v}" for k, v in sorted(command.environment().items())]
        user = ["-u", command.as_user] if command.as_user else []
        return ["sudo", "-n", *user, "--", "/usr/bin/env", "-i", *env, *inner]
