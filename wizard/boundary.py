"""The privilege boundary, in one place: root never acts through a path that someone else controls.

The wizard runs as root and works, on every re-run, next to folders the app user owns (the app folder, its
``static/``, its venv). Anyone with code execution in the web app controls that user, and could plant a
symbolic link or swap a folder between two system calls. So:

- Root opens every folder it writes in component by component, without following links
  (``O_NOFOLLOW``), and only while each component is root's and writable by nobody else (a sticky folder
  such as /tmp counts: others cannot move root's entries in it). It then works with directory descriptors:
  ``mkdirat``, ``openat``, ``fchown``/``fchmod`` before the rename, never a path a second time.
- Inside a folder another user can write, root does not act at all: the work is done by a small helper that
  drops to the app user (``setgroups``/``setresgid``/``setresuid`` in ``subprocess``) before touching anything,
  so whatever it follows, it can only do what that user could already do (``wizard/asuser.py``).
- Root reads a file there only through descriptors that follow no link, only if it is a regular file of
  that user's with one link, without blocking on a FIFO.
Every check runs again at the moment of use, not only when the answers were loaded.
"""

from __future__ import annotations

import errno
import json
import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_LIMIT = 4 << 20  # root reads at most this much of a user's file (a requirements.txt, an app.py)
HELPER_PYTHON = "/usr/bin/python3"  # the system's: the helper must not depend on where the wizard is installed


class Unsafe(Exception):
    """A path root must not act through: the message names it and says what is wrong."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"refusing to use {path}: {why}")
        self.path, self.why = path, why


def _parts(path: str) -> list[str]:
    if not path.startswith("/"):
        raise Unsafe(path, "it is not an absolute path")
    return [part for part in path.split("/") if part]


def trusted(info: os.stat_result) -> bool:
    return trusted_ids(info.st_uid, info.st_gid, info.st_mode)


def trusted_ids(uid: int, gid: int, mode: int) -> bool:
    """Root's, and nobody else can add, remove or rename entries (or only their own: sticky)."""
    if uid != 0:
        return False
    if mode & stat.S_ISVTX:
        return True
    return not mode & 0o002 and not (mode & 0o020 and gid != 0)


def _step_into(fd: int, name: str, shown: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            kind = "a symbolic link" if _is_link(fd, name) else "not a folder"
            raise Unsafe(shown, f"it is {kind}") from None
        raise


def _is_link(fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def walk(path: str, *, trusted_only: bool) -> int:
    """A descriptor of the folder ``path``, reached without following any link.

    ``trusted_only``: every folder on the way, this one included, must be root's and writable by nobody
    else; otherwise :class:`Unsafe`. A missing folder raises FileNotFoundError.
    """
    fd = os.open("/", _DIR_FLAGS)
    shown = ""
    try:
        for part in _parts(path):
            if trusted_only and not trusted(os.fstat(fd)):
                raise Unsafe(shown or "/", "another user can change it")
            shown += "/" + part
            next_fd = _step_into(fd, part, shown)
            os.close(fd)
            fd = next_fd
        if trusted_only and not trusted(os.fstat(fd)):
            raise Unsafe(path, "another user can change it")
        return fd
    except BaseException:
        os.close(fd)
        raise


def trusted_dir(path: str) -> int:
    """A descriptor of a folder root may write in (see :func:`walk`)."""
    return walk(path, trusted_only=True)


@dataclass(frozen=True)
class Entry:
    """What is at a path, seen without following it: kind is missing, file, dir, link, other or unsafe."""

    kind: str
    uid: int = -1
    gid: int = -1
    mode: int = 0
    links: int = 0
    size: int = 0


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "link" if stat.S_ISLNK(mode) else "other"


def inspect(path: str) -> Entry:
    parent, _, name = path.rstrip("/").rpartition("/")
    try:
        fd = walk(parent or "/", trusted_only=False)
    except FileNotFoundError:
        return Entry("missing")
    except (Unsafe, OSError):
        return Entry("unsafe")
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return Entry("missing")
    except OSError:
        return Entry("unsafe")
    finally:
        os.close(fd)
    return Entry(_kind(info.st_mode), info.st_uid, info.st_gid, info.st_mode & 0o7777, info.st_nlink, info.st_size)


def uid_of(user: str) -> int:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return -2  # matches no file


def owned_file(path: str, user: str) -> bool:
    """A regular file of ``user``'s with one link (no hard link to something of someone else's)."""
    entry = inspect(path)
    return entry.kind == "file" and entry.uid == uid_of(user) and entry.links == 1


def read_file(path: str, *, trusted_only: bool, owner: str | None = None) -> bytes | None:
    """A regular file read without following a link or blocking on a FIFO; None when it is anything else.

    ``trusted_only``: every folder on the way must be root's (a system file, read whole). ``owner``: the file
    must be that user's with one link, and at most ``READ_LIMIT`` of it is read."""
    parent, _, name = path.rstrip("/").rpartition("/")
    try:
        dir_fd = walk(parent or "/", trusted_only=trusted_only)
    except (Unsafe, OSError):
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if owner is None:
            return handle.read()
        if info.st_uid != uid_of(owner) or info.st_nlink != 1:
            return None
        return os.read(fd, READ_LIMIT)


def read_as_owner(path: str, owner: str) -> bytes | None:
    """The content of ``owner``'s regular file at ``path``; None when it is anything else or missing."""
    return read_file(path, trusted_only=False, owner=owner)


def helper_source() -> str:
    return (Path(__file__).with_name("asuser.py")).read_text()


def as_user(user: str, operations: list[dict], *, timeout: float = 120.0) -> list[dict]:
    """Run file operations as ``user`` (see wizard/asuser.py); one result per operation, in order.

    The helper is the system's Python given the helper's source (``-I -S``: no environment, no site, no
    current folder on the path), started with the user's ids and groups only, in a new session, with a
    minimal environment and no descriptor of ours beyond its pipes.
    """
    entry = pwd.getpwnam(user)
    argv = [HELPER_PYTHON, "-I", "-S", "-c", helper_source()]
    privileges: dict = {}
    if os.geteuid() == 0:
        privileges = {"user": entry.pw_uid, "group": entry.pw_gid,
                      "extra_groups": os.getgrouplist(user, entry.pw_gid)}
    else:
        argv = ["sudo", "-n", "-u", user, "--", *argv]
    done = subprocess.run(
        argv, input=json.dumps(operations).encode(), capture_output=True, timeout=timeout, cwd="/",
        env={"PATH": "/usr/bin:/bin", "HOME": entry.pw_dir, "LANG": "C.UTF-8"}, start_new_session=True,
        **privileges)
    try:
        results = json.loads(done.stdout.decode() or "null")
    except ValueError:
        results = None
    if not isinstance(results, list) or len(results) != len(operations):
        said = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"status {done.returncode}"]
        raise OSError(f"the helper running as {user} failed: {said[0]}")
    return results
