"""Byte counts in words: one formatter for every screen and message (free disk, skipped output).

Binary units, as ``df -h`` and the Pi's own tools count them, and whole numbers where a decimal would be
noise: 812 bytes, 64 KB, 300 MB, 1.5 GB.
"""

from __future__ import annotations


def size_text(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 ** 2:
        return f"{count // 1024} KB"
    if count < 1024 ** 3:
        return f"{count // 1024 ** 2} MB"
    return f"{count / 1024 ** 3:.1f} GB"
