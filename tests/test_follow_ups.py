"""A follow-up that a file change calls for is never lost, whatever moment a run dies at.

The engine runs in a child process over a real state file and real commands; the first follow-up command
SIGKILLs that process (its parent) once, which is exactly a run killed after the write and before the
reload. Nothing here touches the system: files and the state live in the test's own folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

ENGINE = """
import sys
from pathlib import Path
from wizard.answers import load
from wizard.commands import Command
from wizard.engine import Engine
from wizard.facts import Facts
from wizard.files import PlannedFile
from wizard.plan import Plan, Step
from wizard.runner import PexpectRunner
from wizard.state import State

folder, content, inputs = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
answers = load(Path(sys.argv[4]), has_systemd=False)
# Dies at its first follow-up, once: the kill lands between the write and the reload.
killer = Command.of("sh", "-c", f'[ -e {folder}/killed ] || {{ : > {folder}/killed; kill -KILL $PPID; }}')
step = Step("site", "Write a file and reload",
            files=[PlannedFile(str(folder / "site.conf"), content)],
            on_change=[killer, Command.of("sh", "-c", f"echo reload >> {folder}/follow-ups")],
            on_rerun=[Command.of("sh", "-c", f"echo restart >> {folder}/follow-ups")],
            inputs={"inputs": inputs}, remember_inputs=True)
plan = Plan(answers, Facts(), [step])
result = Engine(plan, PexpectRunner(lambda event: None), State.load(folder / "state.json"), lambda event: None).run()
print("ok" if result.ok else f"failed: {result.message}")
"""


def engine(folder: Path, content: str, inputs: str = "a") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", ENGINE, str(folder), content, inputs,
                           str(REPO / "examples" / "answers.toml")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def follow_ups(folder: Path) -> list[str]:
    path = folder / "follow-ups"
    return path.read_text().split() if path.exists() else []


def test_a_kill_between_the_write_and_the_reload_is_made_good_by_the_next_run(tmp_path: Path) -> None:
    first = engine(tmp_path, "new site\n")
    assert first.returncode == -9, first.stdout + first.stderr  # killed at the follow-up, for real
    assert (tmp_path / "site.conf").read_text() == "new site\n"
    assert follow_ups(tmp_path) == []
    record = json.loads((tmp_path / "state.json").read_text())["steps"]
    assert [r["status"] for r in record.values()] == ["running"]
    second = engine(tmp_path, "new site\n")  # same file: current on disk, but never reloaded
    assert second.stdout.strip() == "ok", second.stdout + second.stderr
    assert follow_ups(tmp_path) == ["reload"]
    third = engine(tmp_path, "new site\n")  # finished: nothing pending any more
    assert third.stdout.strip() == "ok"
    assert follow_ups(tmp_path) == ["reload"]


def test_changed_inputs_survive_a_kill_and_still_restart(tmp_path: Path) -> None:
    (tmp_path / "killed").touch()  # no kill in the first run
    assert engine(tmp_path, "site\n", inputs="a").stdout.strip() == "ok"
    assert follow_ups(tmp_path) == ["reload"]
    (tmp_path / "killed").unlink()
    killed = engine(tmp_path, "site v2\n", inputs="b")  # new inputs and a new file, killed before the reload
    assert killed.returncode == -9
    resumed = engine(tmp_path, "site v2\n", inputs="b")
    assert resumed.stdout.strip() == "ok", resumed.stdout + resumed.stderr
    # The reload the file called for, and the restart the inputs called for: neither was lost.
    assert follow_ups(tmp_path) == ["reload", "reload", "restart"]


def test_new_inputs_with_no_file_change_restart(tmp_path: Path) -> None:
    """on_rerun: the inputs a finished run used are compared, not those this run just marked "running"."""
    (tmp_path / "killed").touch()
    assert engine(tmp_path, "site\n", inputs="a").stdout.strip() == "ok"
    assert engine(tmp_path, "site\n", inputs="b").stdout.strip() == "ok"
    assert follow_ups(tmp_path) == ["reload", "restart"]
    assert engine(tmp_path, "site\n", inputs="b").stdout.strip() == "ok"
    assert follow_ups(tmp_path) == ["reload", "restart"]


@pytest.mark.parametrize("status", ["running", "failed"])
def test_an_unfinished_step_with_follow_ups_is_not_done(status: str) -> None:
    from wizard.engine import follow_ups_pending
    from wizard.plan import Step
    from wizard.state import StepRecord

    step = Step("s", "s", on_change=[])
    assert not follow_ups_pending(step, StepRecord(status))
    from wizard.commands import Command

    step.on_change = [Command.of("true")]
    assert follow_ups_pending(step, StepRecord(status))
    assert not follow_ups_pending(step, StepRecord("done"))
    assert not follow_ups_pending(step, None)
