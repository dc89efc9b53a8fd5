"""Writing files the way a root-owned installer must: atomically, backed up, and undoable.

A half-written nginx site or supervisor program is worse than none, so every write goes to a temp file in
the same folder, is fsynced and renamed over the target. The previous content is kept in a backup folder
and in memory, so a failed validation (``nginx -t``) can put back exactly what was there.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import pwd
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

BACKUP_ROOT = Path("/var/backups/piserver-wizard")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _make_parents(folder: Path, owner: str | None) -> None:
    """Create missing folders, owned like the file they are for (the app's static/ belongs to the app)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(mode=0o755)
        if owner is not None:
            entry = pwd.getpwnam(owner)
            os.chown(created, entry.pw_uid, entry.pw_gid)


def hash_of(path: str) -> str | None:
    """The sha256 of a file as it is now; None when it cannot be read (missing, a folder...)."""
    try:
        return sha256(Path(path).read_bytes())
    except OSError:
        return None


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644, owner: str | None = None) -> None:
    """Replace ``path`` in one rename; readers see the old file or the new one, never a part."""
    _make_parents(path.parent, owner)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            entry = pwd.getpwnam(owner)
            os.fchown(fd, entry.pw_uid, entry.pw_gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class PlannedFile:
    """A file the plan will write. ``secret`` files are generated at write time and never shown or logged."""

    path: str
    content: str
    mode: int = 0o644
    owner: str | None = None
    secret: bool = False
    keep_existing: bool = False  # secrets: keep what is there, so a re-run does not rotate the key

    def current(self) -> bytes | None:
        return read_or_none(Path(self.path))

    def is_current(self) -> bool:
        """True when the file on disk already says what we would write, with the right mode and owner."""
        existing = self.current()
        if existing is None:
            return False
        if not (self.keep_existing or existing == self.content.encode()):
            return False
        st = os.stat(self.path)
        if (st.st_mode & 0o7777) != self.mode:
            return False
        if self.owner is not None:
            try:
                if st.st_uid != pwd.getpwnam(self.owner).pw_uid:
                    return False
            except KeyError:
                return False
        return True

    def diff(self) -> str:
        """A unified diff from what is there to what we would write; secrets show only that they change."""
        existing = self.current()
        if self.secret:
            if existing is not None and self.keep_existing:
                return ""
            before = self.path if existing is not None else "/dev/null"
            return f"--- {before}\n+++ {self.path}\n(secret: generated on the machine, never shown)\n"
        old = "" if existing is None else existing.decode("utf-8", "replace")
        if old == self.content:
            return ""
        return "".join(difflib.unified_diff(
            old.splitlines(keepends=True), self.content.splitlines(keepends=True),
            fromfile="/dev/null" if existing is None else self.path, tofile=self.path,
        ))


@dataclass(frozen=True)
class Link:
    """A symlink such as sites-enabled/NAME -> sites-available/NAME; ``target=None`` removes the link."""

    path: str
    target: str | None

    def is_current(self) -> bool:
        p = Path(self.path)
        if self.target is None:
            return not p.is_symlink() and not p.exists()
        return p.is_symlink() and os.readlink(p) == self.target

    def describe(self) -> str:
        return f"ln -sfn {self.target} {self.path}" if self.target else f"rm {self.path}"


@dataclass
class FileTransaction:
    """Applies files and links, remembering what was there so that ``rollback`` restores it exactly."""

    step_id: str = ""
    backup_dir: Path = field(default_factory=lambda: BACKUP_ROOT / time.strftime("%Y%m%d-%H%M%S"))
    _undo: list[tuple[str, bytes | None, int | None, tuple[int, int] | None, str | None, int]] = field(
        default_factory=list)
    changed: list[str] = field(default_factory=list)

    def _remember(self, path: Path) -> None:
        if path.is_symlink():
            self._undo.append((str(path), None, None, None, os.readlink(path), 0))
            return
        data = read_or_none(path)
        if data is None:
            self._undo.append((str(path), None, None, None, None, 0))
            return
        st = path.stat()
        self._undo.append((str(path), data, st.st_mode & 0o7777, (st.st_uid, st.st_gid), None, st.st_mtime_ns))
        backup = self.backup_dir / path.relative_to("/")
        backup.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.backup_dir, 0o700)
        backup.write_bytes(data)
        os.chmod(backup, 0o600)

    def write(self, planned: PlannedFile, generate_secret: Callable[[], str] | None = None) -> bool:
        if planned.is_current():
            return False
        path = Path(planned.path)
        data = planned.content.encode()
        if planned.secret:
            existing = planned.current()
            if planned.keep_existing and existing is not None:
                data = existing  # fix mode/owner only; the key stays the same
            elif generate_secret is not None:
                data = generate_secret().encode()
        self._remember(path)
        write_atomic(path, data, mode=planned.mode, owner=planned.owner)
        self.changed.append(planned.path)
        return True

    def link(self, link: Link) -> bool:
        if link.is_current():
            return False
        path = Path(link.path)
        self._remember(path)
        if link.target is None:
            path.unlink()
        else:
            tmp = path.with_name(f".{path.name}.tmp-link")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(link.target, tmp)
            os.replace(tmp, path)
        self.changed.append(link.path)
        return True

    def rollback(self) -> None:
        """Put every touched path back as it was (content, mode, owner, mtime), newest change first."""
        for path_text, data, mode, ids, link_target, mtime_ns in reversed(self._undo):
            path = Path(path_text)
            if link_target is not None:
                if path.is_symlink() or path.exists():
                    path.unlink()
                os.symlink(link_target, path)
            elif data is None:
                if path.is_symlink() or path.exists():
                    path.unlink()
            else:
                write_atomic(path, data, mode=mode or 0o644)
                if ids is not None:
                    os.chown(path, *ids)
                os.utime(path, ns=(mtime_ns, mtime_ns))
        self._undo.clear()
        self.changed.clear()
