"""The helper that does root's work inside the app folder, as the app user (run by wizard.boundary.as_user).

It is handed to the system's Python as source, so it imports nothing of the wizard's, and it already runs
with the app user's ids: whatever it is tricked into following, it can only do what that user could. It
still follows no link, so a planted one is refused or replaced, never written through, and says so.
Input: a JSON list of operations on stdin. Output: a JSON list with one result per operation on stdout.
"""

import json
import os
import secrets
import stat
import sys

NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def _kind(path):
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "not a regular file"


def _folder(path, mode, base):
    """``path`` is a real folder of ours (made if missing); refuses a link or a file in its place.

    ``base`` is where the app user's part begins (checked by root): folders above it are not looked at."""
    if path != base and not path.startswith(base.rstrip("/") + "/"):
        return
    kind = _kind(path)
    if kind == "missing":
        _folder(os.path.dirname(path), None, base)
        os.mkdir(path, 0o755 if mode is None else mode)
        kind = "dir"
    if kind != "dir":
        raise ValueError(f"refusing to use {path}: it is {kind}, not a folder")
    info = os.lstat(path)
    if info.st_uid != os.getuid():
        raise ValueError(f"refusing to use {path}: it belongs to another user")
    if mode is not None and info.st_mode & 0o7777 != mode:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW)
        try:
            os.fchmod(fd, mode)
        finally:
            os.close(fd)


def _write(path, data, mode, base):
    """Atomically: a new file beside it, then a rename over whatever was there (a link is replaced, not
    followed). Returns what was replaced, if it was not a regular file."""
    folder, name = os.path.split(path)
    _folder(folder, None, base)
    before = _kind(path)
    if before == "dir":
        raise ValueError(f"refusing to use {path}: it is a folder, not a file")
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return before if before not in ("missing", "file") else ""


def _secret(path, base):
    """Keep a key that is a regular file of ours with one link; anything else is replaced by a new key."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW)
    except OSError:
        fd = -1
    if fd >= 0:
        try:
            info = os.fstat(fd)
            good = (stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and info.st_nlink == 1
                    and 0 < info.st_size <= 4096 and os.read(fd, 4096).strip())
            if good:
                if info.st_mode & 0o7777 != 0o600:
                    os.fchmod(fd, 0o600)
                return {"ok": True, "did": "kept"}
            why = "it had another owner, more than one link or no key in it"
        finally:
            os.close(fd)
    else:
        why = _kind(path)
    replaced = _write(path, (secrets.token_hex(32) + "\n").encode(), 0o600, base)
    if why == "missing":
        return {"ok": True, "did": "created"}
    return {"ok": True, "did": "replaced", "why": replaced or why}


def run(operation):
    kind = operation["op"]
    if kind == "folder":
        _folder(operation["path"], operation["mode"], operation["base"])
        return {"ok": True}
    if kind == "write":
        replaced = _write(operation["path"], bytes.fromhex(operation["data"]), operation["mode"], operation["base"])
        return {"ok": True, "replaced": replaced}
    if kind == "secret":
        return _secret(operation["path"], operation["base"])
    raise ValueError(f"unknown operation {kind!r}")


def main():
    results = []
    for operation in json.load(sys.stdin):
        try:
            results.append(run(operation))
        except (OSError, ValueError) as error:
            results.append({"ok": False, "error": str(error)})
    json.dump(results, sys.stdout)


main()
