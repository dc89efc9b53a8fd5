"""A doctor's finding: what was seen, how bad it is, and the fix in one line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

LEVELS = ("ok", "info", "warn", "error")  # warn and error make `doctor` exit 1


@dataclass(frozen=True)
class Diagnosis:
    level: str
    code: str
    message: str
    fix: str = ""
    app: str = ""

    @property
    def is_problem(self) -> bool:
        return self.level in ("warn", "error")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        label = {"ok": "ok   ", "info": "info ", "warn": "WARN ", "error": "ERROR"}[self.level]
        where = f"[{self.app}] " if self.app else ""
        return f"{label} {where}{self.message}" + (f"\n        fix: {self.fix}" if self.fix else "")


def ok(code: str, message: str, app: str = "") -> Diagnosis:
    return Diagnosis("ok", code, message, app=app)
