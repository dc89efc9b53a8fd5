"""Errors told as a plain sentence: what went wrong and where, never a Python exception's class name.

A failure that reaches the user as "PermissionError: [Errno 13] Permission denied: '/etc/x'" tells a Pi
owner nothing they can act on; "permission denied: /etc/x" does. A real bug still says it is one.
"""

from __future__ import annotations

import errno

_OS_WORDS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
    errno.ENOENT: "no such file or folder",
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the disk is read-only",
    errno.EEXIST: "already exists",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ELOOP: "leads through a symlink, which the wizard refuses to follow",
}


def describe(error: BaseException) -> str:
    """One sentence for the user: an OS error by its meaning and path, anything else as a wizard bug."""
    if isinstance(error, TimeoutError):  # an OSError too, but one without a path or a cause to name
        return "it took too long and was stopped"
    if isinstance(error, OSError):
        what = _OS_WORDS.get(error.errno or 0) or (error.strerror or str(error) or "a system error").lower()
        where = error.filename
        return f"{what}: {where}" if where else what
    detail = str(error) or "no details"
    return (f"an unexpected problem inside the wizard ({detail}); please report it with the run log. "
            "Running the same command again retries this step")
