"""Bad answers files are refused before anything runs, with a message naming the file and the place.

Every file in tests/bad_answers/ is a complete answers file with one fault; its first line says where the
refusal must point: ``# expect: section.key``, ``# expect: line L, column C`` (a TOML syntax error) or
``# expect: <substring>`` (a file-level problem). Further ``# also: <substring>`` lines must appear in the
message too (the "did you mean" hints); a ``# says: <text>`` line is the whole message the user reads after
the file name and the key, word for word.

The whole corpus goes through the schema in-process (``wizard.schema.load``, what every load of the
installed wizard calls first). A handful, one of each kind of fault, also go through the installed console
script for real (not --check): exit code 2, one line on stderr naming the file and the place, no
traceback, and nothing changed under the folders it manages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "bad_answers"
EXAMPLE = REPO / "examples" / "answers.toml"
TIMEOUT = 60
QUIET = 0.5  # seconds the folders must stay still around a run
BUSY_LIMIT = 300

# Folders the wizard writes to; a refused run must leave all of them exactly as they were.
WATCHED = ("/etc/nginx", "/etc/supervisor", "/etc/letsencrypt", "/etc/cron.d", "/var/lib/piserver-wizard",
           "/home/pi")

# Files that cannot carry an "# expect:" line of their own.
NO_ROOM_FOR_A_COMMENT = {"empty.toml": "is empty"}

KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)?$")
POSITION = re.compile(r"^line \d+, column \d+$")


def _expectations(path: Path) -> tuple[str, list[str], str | None]:
    if path.name in NO_ROOM_FOR_A_COMMENT:
        return NO_ROOM_FOR_A_COMMENT[path.name], [], None
    lines = path.read_bytes().split(b"\n")
    first = lines[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{path.name}: the first line must be '# expect: ...'"
    also = [line.decode("utf-8")[len("# also: "):] for line in lines[1:] if line.startswith(b"# also: ")]
    says = [line.decode("utf-8")[len("# says: "):] for line in lines[1:] if line.startswith(b"# says: ")]
    return first[len("# expect: "):].strip(), also, (says[0] if says else None)


CORPUS_FILES = sorted(CORPUS.glob("*.toml"))


def _installed_wizard() -> str:
    found = shutil.which("piserver-wizard")
    if not found:
        pytest.fail("the piserver-wizard console script is not on PATH: install the wheel into the test venv "
                    "and put its bin/ first on PATH (scripts/test does both); the source tree is never used")
    return found


def _ensure_pi() -> None:
    if subprocess.run(["id", "pi"], capture_output=True).returncode != 0:
        if os.geteuid() != 0:
            pytest.skip("the answers name app.user 'pi', which does not exist, and only root can add it")
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], check=True)


@pytest.fixture(scope="module")
def wizard() -> str:
    _ensure_pi()
    return _installed_wizard()


def snapshot() -> dict[str, tuple[int, int, int]]:
    """Path -> (size, mtime_ns, mode) for everything under the watched folders; symlinks are not followed."""
    seen: dict[str, tuple[int, int, int]] = {}
    for top in WATCHED:
        if not os.path.lexists(top):
            seen[top] = (-1, -1, -1)
            continue
        info = os.lstat(top)
        seen[top] = (info.st_size, info.st_mtime_ns, info.st_mode)
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except FileNotFoundError:
                    continue
                seen[path] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return seen


def _diff(before: dict, after: dict) -> list[str]:
    changed = [p for p in before.keys() | after.keys() if before.get(p) != after.get(p)]
    return sorted(changed)[:20]


def other_wizards(mine: int | None = None) -> set[int]:
    """PIDs of piserver-wizard processes other than ``mine``: a real run elsewhere changes the watched folders."""
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in (mine, os.getpid()):
            continue
        try:
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")[:3]
        except OSError:
            continue
        if any(os.path.basename(arg) == b"piserver-wizard" for arg in argv):
            found.add(int(entry.name))
    return found


def wait_for_quiet(limit: float = 300.0) -> None:
    deadline = time.monotonic() + limit
    while other_wizards() and time.monotonic() < deadline:
        time.sleep(0.5)


def run_wizard(wizard: str, *args: str) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run the installed script; also say whether another piserver-wizard ran at any moment meanwhile."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the installed package, never the source tree
    with subprocess.Popen([wizard, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          stdin=subprocess.DEVNULL, cwd="/") as child:
        busy = bool(other_wizards(child.pid))
        deadline = time.monotonic() + TIMEOUT
        while child.poll() is None:
            busy = busy or bool(other_wizards(child.pid))
            if time.monotonic() > deadline:
                child.kill()
                child.communicate()
                pytest.fail(f"piserver-wizard {' '.join(args)} did not finish within {TIMEOUT} s")
            time.sleep(0.02)
        stdout, stderr = child.communicate()
    busy = busy or bool(other_wizards())
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr), busy


def quiet_snapshot() -> dict[str, tuple[int, int, int]] | None:
    """A snapshot, or None when the watched folders changed within the last QUIET seconds (someone is busy)."""
    first = snapshot()
    time.sleep(QUIET)
    second = snapshot()
    return second if first == second else None


def refused_run(wizard: str, path: Path) -> subprocess.CompletedProcess[str]:
    """The run, and the proof that it left the disk alone.

    Other work on this machine may install and remove sites at the same moment (real wizard runs, their
    set-up and clean-up), so a change is only blamed on this run when the folders were still for QUIET
    seconds just before it and just after it and no other piserver-wizard process was seen meanwhile;
    otherwise the run is repeated once things are quiet, for at most BUSY_LIMIT seconds.
    """
    deadline = time.monotonic() + BUSY_LIMIT
    changed: list[str] = []
    while time.monotonic() < deadline:
        wait_for_quiet()
        before = quiet_snapshot()
        if before is None:
            time.sleep(1)
            continue
        result, busy = run_wizard(wizard, "--answers", str(path))
        after = snapshot()
        changed = _diff(before, after)
        if not changed:
            return result
        time.sleep(QUIET)
        if not busy and snapshot() == after:
            pytest.fail(f"a refused run changed files on disk: {changed}")
        time.sleep(1)
    pytest.fail(f"the watched folders never stayed still for {BUSY_LIMIT} s (other work on this machine?); "
                f"last changes seen around the run: {changed}")


def assert_names_the_place(message: str, path: Path, expect: str, also: list[str], says: str | None = None) -> None:
    assert f"{path}: " in message, f"the message must name the file {path}: {message!r}"
    if POSITION.match(expect):
        assert f"{path}: not valid TOML: " in message, message
        assert f"(at {expect})" in message, f"want the position {expect}: {message!r}"
    elif KEY.match(expect):
        assert f"{path}: {expect}: " in message, f"want the key {expect}: {message!r}"
    else:
        assert expect in message, f"want {expect!r} in {message!r}"
    for extra in also:
        assert extra in message, f"want {extra!r} in {message!r}"
    if says is not None:
        where = f"{expect}: " if KEY.match(expect) else ""
        assert message.removeprefix("piserver-wizard: ").rstrip("\n") == f"{path}: {where}{says}", message


def assert_refused(wizard: str, path: Path, expect: str, also: list[str], says: str | None = None) -> None:
    result = refused_run(wizard, path)
    stderr = result.stderr
    assert "Traceback" not in stderr and "Traceback" not in result.stdout, stderr
    assert result.returncode == 2, f"exit {result.returncode}, stderr: {stderr!r}, stdout: {result.stdout!r}"
    assert len(stderr.strip().splitlines()) == 1, f"want one message on stderr, got: {stderr!r}"
    assert_names_the_place(stderr, path, expect, also, says)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS_FILES) >= 45


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_bad_answers_file_is_refused_by_the_schema(path: Path) -> None:
    from wizard.schema import AnswersError, load

    _ensure_pi()
    expect, also, says = _expectations(path)
    with pytest.raises(AnswersError) as refused:
        load(path, has_systemd=os.path.isdir("/run/systemd/system"))
    assert_names_the_place(str(refused.value), path, expect, also, says)


# One of each kind of fault, through the installed script: a key, a syntax error, a file-level problem,
# a rule between keys, a did-you-mean hint, and bytes that are not text.
THROUGH_THE_BINARY = ["workers_zero", "syntax_unclosed_string", "empty", "agree_tos_false",
                      "unknown_key_worker", "binary_garbage", "workers_string", "syntax_enabled_yes"]


@pytest.mark.slow  # it waits for the machine to be quiet: other wizard runs would change the watched folders
@pytest.mark.parametrize("name", THROUGH_THE_BINARY)
def test_bad_answers_file_is_refused_by_the_installed_wizard(wizard: str, name: str) -> None:
    path = CORPUS / f"{name}.toml"
    expect, also, says = _expectations(path)
    assert_refused(wizard, path, expect, also, says)


def test_the_worst_messages_are_held_word_for_word() -> None:
    """The messages the issue quoted as programmer-speak each have a corpus file that pins the new words."""
    pinned = {p.name for p in CORPUS_FILES if _expectations(p)[2] is not None}
    assert {"workers_string.toml", "bind_number.toml", "domains_empty_list.toml", "domains_missing.toml",
            "agree_tos_false.toml", "syntax_enabled_yes.toml", "domain_https_scheme.toml",
            "domain_local_letsencrypt.toml", "user_missing.toml"} <= pinned


@pytest.mark.slow
def test_missing_path_is_refused(wizard: str, tmp_path: Path) -> None:
    assert_refused(wizard, tmp_path / "no-such-answers.toml", "no such file", [])


@pytest.mark.slow
def test_directory_is_refused(wizard: str, tmp_path: Path) -> None:
    folder = tmp_path / "answers.toml"
    folder.mkdir()
    assert_refused(wizard, folder, "is a directory", [])


def test_check_accepts_the_example(wizard: str) -> None:
    result, _ = run_wizard(wizard, "--answers", str(EXAMPLE), "--check")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "valid" in result.stdout
