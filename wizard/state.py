"""The progress store: what each step did, with the fingerprint of the inputs it used.

It is the memory that lets an interrupted run resume at the first step not done and a later run tell
what changed. It is small JSON, rewritten whole and atomically (temp file, fsync, rename) after every
step, mode 0600, so a power cut leaves the previous version or the new one, never a torn file.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import write_atomic
from .status import StepStatus

DEFAULT_DIR = Path("/var/lib/piserver-wizard")
VERSION = 1


def state_dir() -> Path:
    return Path(os.environ.get("PISERVER_WIZARD_STATE_DIR", str(DEFAULT_DIR)))


class StateError(Exception):
    """The store cannot be read or written; the run stops before it loses track of what it did."""


@dataclass
class StepRecord:
    status: StepStatus  # RUNNING, DONE or FAILED
    fingerprint: str = ""
    finished: float = 0.0
    elapsed: float = 0.0
    message: str = ""
    title: str = ""  # the step's title as the user saw it, for the welcome screen's "stopped at"


def _step_record(data: dict[str, Any]) -> StepRecord:
    """A stored record; a status this version does not know reads as FAILED (the step is done again), and
    keys it does not know (written by a newer version) are left out rather than refusing the whole store."""
    known = {name: value for name, value in data.items() if name in StepRecord.__dataclass_fields__}
    record = StepRecord(**known)
    try:
        record.status = StepStatus(record.status)
    except ValueError:
        record.status = StepStatus.FAILED
    return record


@dataclass
class State:
    path: Path
    steps: dict[str, StepRecord] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 of what the wizard left there
    answers_path: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> "State":
        path = path or state_dir() / "state.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError):
            # A store we cannot read is treated as empty (every step re-checks the machine), not fatal;
            # the unreadable file is kept beside it for whoever wants to look.
            broken = path.with_suffix(f".broken-{int(time.time())}")
            try:
                path.rename(broken)
            except OSError:
                pass
            return cls(path)
        if data.get("version") != VERSION:
            return cls(path)
        return cls(
            path,
            steps={k: _step_record(v) for k, v in data.get("steps", {}).items()},
            files=dict(data.get("files", {})),
            answers_path=data.get("answers_path", ""),
        )

    def to_json(self) -> str:
        return json.dumps({
            "version": VERSION,
            "answers_path": self.answers_path,
            "steps": {k: vars(v) for k, v in self.steps.items()},
            "files": self.files,
        }, indent=2, sort_keys=True) + "\n"

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(self.path, self.to_json().encode(), mode=0o600)
        except OSError as error:
            raise StateError(f"cannot save progress to {self.path}: {error.strerror or error}") from error

    def record(self, step_id: str, status: StepStatus, fingerprint: str = "", elapsed: float = 0.0,
               message: str = "", title: str = "") -> None:
        self.steps[step_id] = StepRecord(status, fingerprint, time.time(), round(elapsed, 3), message[:500], title)
        self.save()
