"""The --json result: its keys are a contract a fleet tool parses (README, "Many Pis").

The engine runs for real here, over real files and commands in the test's own folder, with the report
listening; nothing outside that folder is touched. The command-line tests run the installed console
script and only read this machine (a dry run, bad answers).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from wizard.answers import load
from wizard.commands import Command
from wizard.engine import Engine
from wizard.facts import Facts
from wizard.files import PlannedFile
from wizard.plan import Plan, Step
from wizard.report import RecordingRunner, Report, tail_of
from wizard.runner import DryRunner, PexpectRunner
from wizard.state import State

REPO = Path(__file__).resolve().parent.parent
STEP_KEYS = {"id", "title", "status", "seconds", "files"}
TOP_KEYS = {"format", "dry_run", "ok", "changed", "would_change", "failed", "steps", "urls", "diffs"}


def plan_in(folder: Path, content: str, fail: bool = False) -> Plan:
    """Three steps: a file, a check that always runs, and (``fail``) a command that fails with output."""
    answers = load(REPO / "examples" / "answers.toml", has_systemd=False)
    steps = [Step("conf", "Write the config", files=[PlannedFile(str(folder / "site.conf"), content)]),
             Step("look", "Look at it", commands=[Command.of("true")], is_done=lambda: True)]
    if fail:
        steps.append(Step("boom", "Fail loudly",
                          commands=[Command.of("sh", "-c", "echo first; echo the reason >&2; exit 3")],
                          is_done=lambda: False))
    marker = folder / "after-ran"
    steps.append(Step("after", "Never reached when boom fails", commands=[Command.of("touch", str(marker))],
                      is_done=marker.exists))
    return Plan(answers, Facts(), steps)


def run(folder: Path, content: str, *, dry: bool = False, fail: bool = False) -> dict:
    report = Report(dry_run=dry)
    plan = plan_in(folder, content, fail)
    report.plan([(s.id, s.title) for s in plan.steps])
    inner = DryRunner(report) if dry else PexpectRunner(report)
    result = Engine(plan, RecordingRunner(inner, report), State.load(folder / "state.json"), report).run()
    report.ended(result.ran, [("Site", "https://a.test/  https://www.a.test/"), ("App", "x")])
    document = json.loads(report.dumps())
    assert set(document) == TOP_KEYS and all(set(s) == STEP_KEYS for s in document["steps"])
    return document


def statuses(document: dict) -> dict[str, str]:
    return {s["id"]: s["status"] for s in document["steps"]}


def test_a_first_run_changes_and_names_the_file_a_second_says_nothing_changed(tmp_path: Path) -> None:
    first = run(tmp_path, "one\n")
    assert first["changed"] is True and first["ok"] is True and first["failed"] is None
    assert statuses(first) == {"conf": "done", "look": "already done", "after": "done"}
    assert first["steps"][0]["files"] == [str(tmp_path / "site.conf")]
    assert first["urls"] == ["https://a.test/", "https://www.a.test/"]
    assert first["diffs"] == {}
    second = run(tmp_path, "one\n")
    assert set(statuses(second).values()) == {"already done"}
    assert all(s["files"] == [] for s in second["steps"])
    assert second["changed"] is False and second["ok"] is True
    (tmp_path / "after-ran").unlink()  # a command to run again, no file to write: still a change
    third = run(tmp_path, "one\n")
    assert third["changed"] is True and statuses(third)["after"] == "done" and statuses(third)["conf"] == "already done"


def test_nothing_to_do_is_changed_false(tmp_path: Path) -> None:
    """A plan whose every step is found in place: the no-op re-run a fleet tool must report as unchanged."""
    report = Report()
    answers = load(REPO / "examples" / "answers.toml", has_systemd=False)
    planned = PlannedFile(str(tmp_path / "f"), "x\n")
    plan = Plan(answers, Facts(), [Step("f", "A file", files=[planned])])
    for expected in (True, False):
        report = Report()
        result = Engine(plan, RecordingRunner(PexpectRunner(report), report), State.load(tmp_path / "s.json"),
                        report).run()
        report.ended(result.ran, [])
        assert report.document()["changed"] is expected


def test_a_dry_run_changes_nothing_and_carries_each_files_diff(tmp_path: Path) -> None:
    run(tmp_path, "old line\n")
    dry = run(tmp_path, "new line\n", dry=True)
    assert dry["dry_run"] is True and dry["changed"] is False and dry["would_change"] is True
    diff = dry["diffs"][str(tmp_path / "site.conf")]
    assert "-old line" in diff and "+new line" in diff and diff.startswith("--- ")
    assert (tmp_path / "site.conf").read_text() == "old line\n"


def test_a_failed_step_is_named_with_its_output_tail_and_the_rest_skipped(tmp_path: Path) -> None:
    document = run(tmp_path, "one\n", fail=True)
    assert document["ok"] is False
    failed = document["failed"]
    assert failed["step"] == "boom" and failed["title"] == "Fail loudly"
    assert "exited with status 3" in failed["message"]
    assert "the reason" in failed["tail"]
    assert statuses(document)["boom"] == "failed" and statuses(document)["after"] == "skipped"


def test_the_tail_keeps_the_last_lines() -> None:
    text = "".join(f"line {n}\n" for n in range(100))
    assert tail_of(text, 3) == "line 97\nline 98\nline 99"


def cli(*argv: str, state: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "PISERVER_WIZARD_OFFLINE": "1", "PISERVER_WIZARD_STATE_DIR": str(state)}
    return subprocess.run(["piserver-wizard", *argv], capture_output=True, text=True, env=env, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_bad_answers_still_give_one_json_document(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[app]\nname = "Not A Name"\n')
    done = cli("--answers", str(bad), "--json", state=tmp_path / "state")
    assert done.returncode == 2
    document = json.loads(done.stdout)
    assert document["ok"] is False and document["changed"] is False
    assert document["failed"]["step"] is None and "bad.toml" in document["failed"]["message"]


@pytest.mark.skipif(os.geteuid() != 0, reason="a dry run probes the machine as root would")
def test_dry_run_json_is_the_only_thing_on_stdout(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text((REPO / "examples" / "answers.toml").read_text().replace('"hello"', '"jsondry"', 1)
                       .replace("/srv/hello", "/srv/jsondry"))
    done = cli("--answers", str(answers), "--dry-run", "--json", state=tmp_path / "state")
    document = json.loads(done.stdout)  # progress went to stderr: stdout parses whole
    assert done.returncode == 0, done.stderr
    assert "would write" in done.stderr
    assert document["dry_run"] is True and document["changed"] is False and document["would_change"] is True
    site = "/etc/nginx/sites-available/jsondry"
    assert site in document["diffs"] and f"+++ {site}" in document["diffs"][site]
    assert document["urls"] == ["https://pi.example.com/", "https://www.pi.example.com/"]
    assert not Path(site).exists()
