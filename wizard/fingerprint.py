"""Fingerprints of a step's inputs: equal fingerprints mean a re-run has nothing new to do."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(inputs: Any) -> str:
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
