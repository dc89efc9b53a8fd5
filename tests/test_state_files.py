"""The progress store and the file writer: atomic, private, and undoable."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from wizard.files import FileTransaction, Link, PlannedFile, write_atomic
from wizard.lock import LockedError, RunLock
from wizard.state import State


def test_state_round_trips_and_is_private(tmp_path: Path) -> None:
    state = State(tmp_path / "s" / "state.json")
    state.record("nginx-install", "done", "abc", 1.5)
    state.files["/etc/x"] = "123"
    state.save()
    assert stat.S_IMODE((tmp_path / "s" / "state.json").stat().st_mode) == 0o600
    again = State.load(tmp_path / "s" / "state.json")
    assert again.steps["nginx-install"].fingerprint == "abc" and again.files == {"/etc/x": "123"}


def test_a_torn_state_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "steps": {')
    state = State.load(path)
    assert state.steps == {}
    assert not path.exists() and list(tmp_path.glob("state.broken-*"))


def test_write_atomic_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "conf"
    write_atomic(target, b"one", mode=0o640)
    write_atomic(target, b"two", mode=0o640)
    assert target.read_bytes() == b"two" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["conf"]


def test_transaction_rolls_back_writes_and_links(tmp_path: Path) -> None:
    existing = tmp_path / "site"
    existing.write_text("old\n")
    os.chmod(existing, 0o644)
    default = tmp_path / "default-link"
    os.symlink("/somewhere/default", default)
    tx = FileTransaction(backup_dir=tmp_path / "backup")
    assert tx.write(PlannedFile(str(existing), "new\n"))
    assert tx.write(PlannedFile(str(tmp_path / "fresh"), "x\n"))
    assert tx.link(Link(str(tmp_path / "enabled"), str(existing)))
    assert tx.link(Link(str(default), None))
    assert existing.read_text() == "new\n" and not default.is_symlink()
    assert (tmp_path / "backup" / str(existing).lstrip("/")).read_text() == "old\n"
    tx.rollback()
    assert existing.read_text() == "old\n"
    assert not (tmp_path / "fresh").exists() and not (tmp_path / "enabled").is_symlink()
    assert os.readlink(default) == "/somewhere/default"


def test_unchanged_file_is_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "same"
    planned = PlannedFile(str(target), "content\n")
    tx = FileTransaction(backup_dir=tmp_path / "b")
    assert tx.write(planned)
    mtime = target.stat().st_mtime_ns
    assert not FileTransaction(backup_dir=tmp_path / "b").write(planned)
    assert target.stat().st_mtime_ns == mtime


def test_second_lock_names_the_holder_and_a_dead_holder_does_not_block(tmp_path: Path) -> None:
    first = RunLock(tmp_path / "lock")
    first.acquire()
    try:
        RunLock(tmp_path / "lock").acquire()
    except LockedError as error:
        assert error.pid == str(os.getpid())
    else:
        raise AssertionError("a second lock was granted")
    first.release()
    RunLock(tmp_path / "lock").acquire()  # released (as by death): taken over


def test_state_json_is_plain_data(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    state.record("x", "failed", "f", 0.1, "boom")
    data = json.loads((tmp_path / "state.json").read_text())
    assert data["version"] == 1 and data["steps"]["x"]["status"] == "failed"
