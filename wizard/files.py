"""Writing files the way a root-owned installer must: atomically, backed up, undoable, and never through
a path someone else controls.

A half-written nginx site or supervisor program is worse than none, so every write goes to a temp file in
the same folder, is fsynced and renamed over the target. The previous content is kept in a backup folder
(one per run, the last five runs kept) and in memory, so a failed validation (``nginx -t``) can put back
exactly what was there. System files are written by root through directory descriptors of root's own
folders; files in the app's folder are written by a helper running as the app user (``wizard.boundary``).
"""

from __future__ import annotations

import difflib
import grp
import hashlib
import os
import pwd
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import boundary
from .boundary import Unsafe

BACKUP_ROOT = Path(os.environ.get("PISERVER_WIZARD_BACKUP_DIR", "/var/backups/piserver-wizard"))
BACKUP_RUNS_KEPT = 5
RUN_STAMP = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"  # one backup folder per run


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _split(path: str) -> tuple[str, str]:
    parent, _, name = path.rstrip("/").rpartition("/")
    return parent or "/", name


def _ensure_dir(path: str, mode: int = 0o755) -> int:
    """A descriptor of root's folder ``path``, its missing parts made (by mkdirat in root's own folders)."""
    try:
        return boundary.trusted_dir(path)
    except FileNotFoundError:
        pass
    parent, name = _split(path)
    parent_fd = _ensure_dir(parent, mode)
    try:
        try:
            os.mkdir(name, mode, dir_fd=parent_fd)
        except FileExistsError:
            pass
        return boundary.walk(path, trusted_only=True)
    finally:
        os.close(parent_fd)


def read_root_file(path: str) -> bytes | None:
    """A file in root's folders, read without following a link; None when missing or not a regular file."""
    return boundary.read_file(path, trusted_only=True)


def hash_of(path: str) -> str | None:
    """The sha256 of a system file as it is now; None when it cannot be read (missing, a folder...)."""
    data = read_root_file(path)
    return None if data is None else sha256(data)


def write_atomic(path: Path | str, data: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0,
                 folder_mode: int = 0o755) -> None:
    """Replace a system file in one rename; readers see the old file or the new one, never a part.

    The temp file gets its mode and owner through its descriptor before the rename, so no path is ever
    chowned; the folder is root's and nobody else's, checked now (``boundary.trusted_dir``)."""
    parent, name = _split(str(path))
    dir_fd = _ensure_dir(parent, folder_mode)
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise
    finally:
        os.close(dir_fd)


def write_anywhere(path: Path | str, data: bytes, *, mode: int = 0o600) -> None:
    """A file the person asked for where they asked (answers saved from the TUI): in root's folders root
    writes it; in a folder of one user's (their home) that user does, through the helper; else refused."""
    text = str(path)
    parent, _ = _split(text)
    owner = _owner_of_first_untrusted(parent)
    if owner is None:
        write_atomic(text, data, mode=mode)
        return
    result = boundary.as_user(owner, [{"op": "write", "path": text, "data": data.hex(), "mode": mode,
                                       "base": parent}])[0]
    if not result.get("ok"):
        raise OSError(result.get("error", "the write failed"))


def _owner_of_first_untrusted(folder: str) -> str | None:
    """None when every folder down to ``folder`` is root's; else the user owning the first that is not."""
    shown = ""
    for part in [""] + [p for p in folder.split("/") if p]:
        shown = shown + "/" + part if part else "/"
        entry = boundary.inspect(shown) if shown != "/" else boundary.Entry("dir", 0, 0, 0o755)
        if entry.kind == "missing":
            return None  # made by root below its own folders
        if entry.kind != "dir":
            raise Unsafe(shown, f"it is {'a symbolic link' if entry.kind == 'link' else 'not a folder'}")
        if entry.uid != 0:
            if entry.mode & 0o022:
                raise Unsafe(shown, "more than its owner can change it")
            return pwd.getpwuid(entry.uid).pw_name
        if not boundary.trusted_ids(entry.uid, entry.gid, entry.mode):
            raise Unsafe(shown, "another user can change it")
    return None


def _ids(owner: str | None, group: str | None) -> tuple[int, int]:
    uid = pwd.getpwnam(owner).pw_uid if owner else 0
    if group:
        return uid, grp.getgrnam(group).gr_gid
    return uid, pwd.getpwnam(owner).pw_gid if owner else 0


@dataclass(frozen=True)
class AppFolder:
    """A folder the plan needs: root's (``owner=None``) or handed to the app user (its folder, a socket's).

    Made with ``mkdirat`` in a folder of root's and handed over with ``fchown`` on its descriptor; when the
    folder that holds it is the app user's own (their home), the helper makes it as that user."""

    path: str
    owner: str | None
    group: str | None = None
    mode: int = 0o755

    def describe(self) -> str:
        who = f"{self.owner or 'root'}:{self.group or self.owner or 'root'}"
        return f"make the folder {self.path} ({who}, mode {self.mode:o}, following no link)"

    def is_current(self) -> bool:
        entry = boundary.inspect(self.path)
        try:
            uid, gid = _ids(self.owner, self.group)
        except KeyError:
            return False
        return entry.kind == "dir" and entry.uid == uid and entry.gid == gid and entry.mode == self.mode

    def make(self) -> bool:
        """Returns True when something changed; raises Unsafe for a link, a file or a stranger's folder."""
        if self.is_current():
            return False
        uid, gid = _ids(self.owner, self.group)
        parent, name = _split(self.path)
        try:
            parent_fd = boundary.trusted_dir(parent)
        except Unsafe:
            if self.owner is None or self.group:
                raise
            return self._make_as_owner(parent)
        except FileNotFoundError:
            parent_fd = _ensure_dir(parent)
        try:
            self._make_in(parent_fd, name, uid, gid)
        finally:
            os.close(parent_fd)
        return True

    def _make_in(self, parent_fd: int, name: str, uid: int, gid: int) -> None:
        created = False
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
            created = True
        except FileExistsError:
            pass
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
        except OSError:
            kind = boundary.inspect(self.path).kind
            raise Unsafe(self.path, "it is a symbolic link" if kind == "link" else "it is not a folder") from None
        try:
            info = os.fstat(fd)
            if not created and info.st_uid not in (0, uid):
                raise Unsafe(self.path, f"it belongs to {_user_name(info.st_uid)}, not to {self.owner or 'root'}")
            if not created and info.st_uid == 0 and uid != 0 and os.listdir(fd):
                raise Unsafe(self.path, f"it is root's and not empty: it will not be handed to {self.owner}")
            os.fchown(fd, uid, gid)
            os.fchmod(fd, self.mode)
        finally:
            os.close(fd)

    def _make_as_owner(self, parent: str) -> bool:
        """The folder that holds it is not root's: only its owner's own folder (their home) will do."""
        entry = boundary.inspect(parent)
        if entry.kind != "dir" or entry.uid != boundary.uid_of(self.owner or "") or entry.mode & 0o022:
            raise Unsafe(parent, f"it is not a folder that only {self.owner} can change")
        result = boundary.as_user(self.owner or "", [{"op": "folder", "path": self.path, "mode": self.mode,
                                                      "base": self.path}])[0]
        if not result.get("ok"):
            raise Unsafe(self.path, result.get("error", "the helper could not make it"))
        return True


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


@dataclass(frozen=True)
class PlannedFile:
    """A file the plan will write. ``secret`` files are generated at write time and never shown or logged.

    ``owner`` set: the file is in that user's folder ``within`` (the app's), written by the helper running
    as them; ``owners_own``: once the owner has edited it (its content is no longer what the wizard last
    wrote, ``recorded`` in the state), it is theirs and the wizard leaves it alone.
    """

    path: str
    content: str
    mode: int = 0o644
    owner: str | None = None
    secret: bool = False
    keep_existing: bool = False  # secrets: keep a sound key, so a re-run does not rotate it
    within: str = ""  # owner's files: the folder the owner's part begins at (checked before each write)
    owners_own: bool = False
    recorded: str | None = None  # sha256 of what the wizard last wrote here (from the state)

    def current(self) -> bytes | None:
        if self.owner is None:
            return read_root_file(self.path)
        return boundary.read_as_owner(self.path, self.owner)

    def owner_edited(self) -> bool:
        """The owner changed it since the wizard wrote it (or put their own there first): keep theirs."""
        if not self.owners_own:
            return False
        existing = self.current()
        if existing is None or existing == self.content.encode():
            return False
        return self.recorded is None or sha256(existing) != self.recorded

    def is_current(self) -> bool:
        """True when the file on disk already says what we would write, with the right mode and owner."""
        if self.secret:
            entry = boundary.inspect(self.path)
            return (self.keep_existing and entry.kind == "file" and entry.uid == boundary.uid_of(self.owner or "root")
                    and entry.links == 1 and entry.mode == self.mode and 0 < entry.size <= 4096)
        existing = self.current()
        if existing is None:
            return False
        if self.owner_edited():
            return True
        entry = boundary.inspect(self.path)
        uid = boundary.uid_of(self.owner) if self.owner else 0
        return existing == self.content.encode() and entry.mode == self.mode and entry.uid == uid

    def recorded_hash(self) -> str | None:
        """What the state keeps for this path after the step: the hash of what the wizard wrote (a kept
        owner's file keeps the old record; a secret none)."""
        if self.secret:
            return None
        if self.owner_edited():
            return self.recorded
        existing = self.current()
        return None if existing is None else sha256(existing)

    def diff(self) -> str:
        """A unified diff from what is there to what we would write; secrets show only that they change."""
        existing = self.current()
        if self.secret:
            if self.is_current():
                return ""
            before = self.path if boundary.inspect(self.path).kind != "missing" else "/dev/null"
            return f"--- {before}\n+++ {self.path}\n(secret: generated on the machine, never shown)\n"
        if self.owner_edited():
            return ""
        old = "" if existing is None else existing.decode("utf-8", "replace")
        if old == self.content:
            return ""
        return "".join(difflib.unified_diff(
            old.splitlines(keepends=True), self.content.splitlines(keepends=True),
            fromfile="/dev/null" if existing is None else self.path, tofile=self.path,
        ))

    def kept_note(self) -> str:
        return (f"kept {self.path}: it was changed since the wizard wrote it, so it is yours now "
                '(set app.source = "existing" and the wizard stops writing the sample)')


@dataclass(frozen=True)
class Link:
    """A symlink such as sites-enabled/NAME -> sites-available/NAME; ``target=None`` removes the link."""

    path: str
    target: str | None

    def is_current(self) -> bool:
        entry = boundary.inspect(self.path)
        if self.target is None:
            return entry.kind == "missing"
        return entry.kind == "link" and os.readlink(self.path) == self.target

    def describe(self) -> str:
        return f"ln -sfn {self.target} {self.path}" if self.target else f"rm {self.path}"


@dataclass
class _Before:
    """What a system path held before a transaction changed it."""

    path: str
    data: bytes | None = None
    mode: int = 0
    ids: tuple[int, int] = (0, 0)
    link_target: str | None = None
    mtime_ns: int = 0


@dataclass
class FileTransaction:
    """Applies files and links, remembering what was there so that ``rollback`` restores it exactly.

    System files only take part in rollback: the app user's files are written by the helper and are not
    validated by any command (nothing to roll back for), and root does not copy what the app user holds."""

    step_id: str = ""
    backup_dir: Path = field(default_factory=lambda: BACKUP_ROOT / RUN_STAMP)
    _undo: list[_Before] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said to the person (a key replaced, a file kept)

    def _remember(self, path: str) -> None:
        entry = boundary.inspect(path)
        if entry.kind == "unsafe":
            raise Unsafe(path, "a folder on the way is a link or not root's")
        if entry.kind == "link":
            self._undo.append(_Before(path, link_target=os.readlink(path)))
            return
        data = read_root_file(path) if entry.kind == "file" else None
        if data is None:
            self._undo.append(_Before(path))
            return
        info = os.stat(path, follow_symlinks=False)
        self._undo.append(_Before(path, data, entry.mode, (entry.uid, entry.gid), None, info.st_mtime_ns))
        self._back_up(path, data)

    def _back_up(self, path: str, data: bytes) -> None:
        fresh = not self.backup_dir.exists()
        write_atomic(self.backup_dir / path.lstrip("/"), data, mode=0o600, folder_mode=0o700)
        if fresh:
            prune_backups(self.backup_dir.parent)

    def write(self, planned: PlannedFile) -> bool:
        if planned.is_current():
            if planned.owner_edited():
                self.notes.append(planned.kept_note())
            return False
        if planned.owner is not None:
            return self._write_as_owner(planned)
        self._remember(planned.path)
        write_atomic(planned.path, planned.content.encode(), mode=planned.mode)
        self.changed.append(planned.path)
        return True

    def _write_as_owner(self, planned: PlannedFile) -> bool:
        owner, within = planned.owner or "", planned.within or _split(planned.path)[0]
        entry = boundary.inspect(within)
        if entry.kind != "dir" or entry.uid != boundary.uid_of(owner):
            kind = {"link": "a symbolic link", "missing": "missing"}.get(entry.kind, f"not a folder of {owner}'s")
            raise Unsafe(within, f"it is {kind}")
        if planned.secret:
            operation = {"op": "secret", "path": planned.path, "base": within}
        else:
            operation = {"op": "write", "path": planned.path, "data": planned.content.encode().hex(),
                         "mode": planned.mode, "base": within}
        result = boundary.as_user(owner, [operation])[0]
        if not result.get("ok"):
            said = result.get("error", "")  # "refusing to use PATH: WHY", naming the path that is wrong
            path, _, why = said.removeprefix("refusing to use ").partition(": ")
            raise Unsafe(path, why) if why else Unsafe(planned.path, said or "the helper could not write it")
        if result.get("did") == "replaced":
            self.notes.append(f"replaced {planned.path} with a new key: {result.get('why')}")
        elif result.get("replaced"):
            self.notes.append(f"replaced {planned.path}: it was {result['replaced']}")
        self.changed.append(planned.path)
        return result.get("did") != "kept"

    def link(self, link: Link) -> bool:
        if link.is_current():
            return False
        self._remember(link.path)
        parent, name = _split(link.path)
        dir_fd = _ensure_dir(parent)
        try:
            if link.target is None:
                os.unlink(name, dir_fd=dir_fd)
            else:
                tmp = f".{name}.{secrets.token_hex(6)}.tmp-link"
                os.symlink(link.target, tmp, dir_fd=dir_fd)
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        self.changed.append(link.path)
        return True

    def rollback(self) -> None:
        """Put every touched path back as it was (content, mode, owner, mtime), newest change first."""
        for before in reversed(self._undo):
            parent, name = _split(before.path)
            dir_fd = _ensure_dir(parent)
            try:
                if before.data is not None:
                    write_atomic(before.path, before.data, mode=before.mode or 0o644, uid=before.ids[0],
                                 gid=before.ids[1])
                    os.utime(name, ns=(before.mtime_ns, before.mtime_ns), dir_fd=dir_fd, follow_symlinks=False)
                    continue
                try:
                    os.unlink(name, dir_fd=dir_fd)
                except FileNotFoundError:
                    pass
                if before.link_target is not None:
                    os.symlink(before.link_target, name, dir_fd=dir_fd)
            finally:
                os.close(dir_fd)
        self._undo.clear()
        self.changed.clear()


def prune_backups(root: Path, keep: int = BACKUP_RUNS_KEPT) -> None:
    """Backups are one folder per run; only the newest ``keep`` runs stay."""
    try:
        runs = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
