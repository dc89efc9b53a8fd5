"""Service control that asks the machine which init it has, behind one small interface.

A Raspberry Pi runs systemd; containers, CI machines and some minimal images do not. Steps ask for
"start nginx" and get the right argv for the machine; they never branch on the init system themselves.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .commands import Command


@dataclass(frozen=True)
class Services:
    systemd: bool

    @staticmethod
    def detect() -> "Services":
        return Services(Path("/run/systemd/system").is_dir())

    @property
    def name(self) -> str:
        return "systemd" if self.systemd else "init scripts (service)"

    def start(self, unit: str) -> Command:
        """Enable at boot as well as start: a Pi that reboots must come back serving."""
        if self.systemd:
            return Command.of("systemctl", "enable", "--now", unit)
        return Command.of("service", unit, "start")

    def reload(self, unit: str) -> Command:
        if self.systemd:
            return Command.of("systemctl", "reload", unit)
        return Command.of("service", unit, "reload")

    def is_active(self, unit: str) -> bool:
        if self.systemd:
            argv = ["systemctl", "is-active", "--quiet", unit]
        else:
            argv = ["service", unit, "status"]
        try:
            return subprocess.run(argv, capture_output=True, timeout=15, check=False).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def timer_active(self, unit: str = "certbot.timer") -> bool:
        return self.systemd and self.is_active(unit)
