"""The app's address and names are its own: who holds a listening socket (real sockets of this process),
another managed app's address or name refused, and the owner's kept file said without --verbose."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wizard import listening, preflight
from wizard.events import Output, StepFinished, StepStarted
from wizard.facts import OtherApp
from wizard.headless import LinePrinter
from wizard.preflight import Level
from wizard.status import StepStatus

from tui_helpers import fixed_facts, sample_answers


@pytest.fixture()
def listener() -> object:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.fixture()
def child() -> object:
    """A process that is not this one's ancestor: as the app's gunicorn would be to a squatter."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def test_the_listening_socket_is_found_and_its_holder_is_this_process(listener: str) -> None:
    inodes = listening.listening_inodes(listener)
    assert len(inodes) == 1
    assert os.getpid() in listening.holders(inodes)
    assert listening.foreign_holder(listener, os.getpid()) is None  # the program's own


def test_a_holder_outside_the_programs_tree_is_named(listener: str, child: int) -> None:
    other = listening.foreign_holder(listener, child)
    assert other is not None and other.startswith(f"pid {os.getpid()}: ") and "python" in other


def test_a_child_of_the_program_counts_as_the_program(child: int) -> None:
    assert listening.within(child, os.getpid()) and not listening.within(os.getpid(), child)


def test_a_free_or_unparsable_address_has_no_holder() -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    assert listening.foreign_holder(f"127.0.0.1:{port}", os.getpid()) is None
    assert listening.listening_inodes("127.0.0.1:notaport") == set()


def test_a_unix_socket_holder(tmp_path: Path, child: int) -> None:
    path = tmp_path / "gunicorn.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        assert listening.listening_inodes(f"unix:{path}") == set()  # bound, not listening yet
        server.listen()
        assert listening.foreign_holder(f"unix:{path}", os.getpid()) is None
        assert listening.foreign_holder(f"unix:{path}", child).startswith(f"pid {os.getpid()}: ")
    finally:
        server.close()


@pytest.mark.parametrize(("hex_address", "expected"), [
    ("0100007F:12D4", ("127.0.0.1", 4820)),
    ("00000000000000000000000000000000:0050", ("::", 80)),
    ("0000000000000000FFFF00000100007F:12D4", ("127.0.0.1", 4820)),  # IPv4-mapped, in tcp6
])
def test_proc_net_tcp_addresses(hex_address: str, expected: tuple[str, int]) -> None:
    assert listening._tcp_address(hex_address) == expected


def answers_for(name: str, bind: str, domains: list[str]) -> object:
    answers = sample_answers()
    answers.app.name, answers.app.bind, answers.site.domains = name, bind, domains
    return answers


def test_another_apps_address_and_name_are_refused() -> None:
    facts = fixed_facts(managed_apps=[OtherApp("acmedown", "127.0.0.1:4820", ("down.test", "www.down.test")),
                                      OtherApp("keepme", "127.0.0.1:4850", ("keep.pi.test",))])
    found = preflight.shared_with_other_apps(answers_for("keepme", "127.0.0.1:4820", ["www.down.test"]), facts)
    assert [(f.level, f.message) for f in found] == [
        (Level.REFUSE, "app.bind: 127.0.0.1:4820 is already the address of the app acmedown on this Pi: give "
                       "this app a port of its own"),
        (Level.REFUSE, "site.domains: www.down.test is already served by the app acmedown on this Pi: take it "
                       "out of one app's domains (or remove that app: sudo piserver-wizard remove acmedown)")]
    assert any(f in preflight.check(answers_for("keepme", "127.0.0.1:4820", ["x.test"]), facts) for f in found)


def test_the_apps_own_record_is_not_a_conflict() -> None:
    facts = fixed_facts(managed_apps=[OtherApp("keepme", "127.0.0.1:4850", ("keep.pi.test",))])
    assert preflight.shared_with_other_apps(answers_for("keepme", "127.0.0.1:4850", ["keep.pi.test"]), facts) == []


def test_the_saved_answers_are_read_for_address_and_names(state_dir: Path) -> None:
    from wizard.facts import managed_apps

    apps = state_dir / "apps"
    apps.mkdir(parents=True)
    (apps / "one.toml").write_text('[site]\ndomains = ["one.test"]\n[app]\nname = "one"\nbind = "127.0.0.1:4001"\n')
    (apps / "broken.toml").write_text("[site\n")
    assert managed_apps() == [OtherApp("one", "127.0.0.1:4001", ("one.test",))]


def test_a_note_is_shown_without_verbose() -> None:
    out = io.StringIO()
    printer = LinePrinter(out, verbose=False)
    printer(StepStarted("app-files", "Write the app's files", 7, 14))
    printer(Output("app-files", "some command output\n"))
    printer(Output("app-files", "kept /srv/keepme/app.py: it was changed\n", note=True))
    printer(StepFinished("app-files", StepStatus.ALREADY_DONE, 0.0))
    assert out.getvalue() == ("[ 7/14] Write the app's files ... \n  kept /srv/keepme/app.py: it was changed\n"
                              "  -> already done (0.0 s)\n")


@pytest.fixture()
def root_folder() -> object:
    """A folder of root's that nobody else can write, as /var/log/nginx is (tmp_path is under /tmp)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the folders on the way to the log must be root's")
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(dir="/run", prefix="piserver-test-"))
    yield folder
    shutil.rmtree(folder)


def test_a_sites_log_is_read_from_its_end(root_folder: Path) -> None:
    from wizard import site_owner

    log = root_folder / "keepme.access.log"
    log.write_bytes(b"old line\n" * 20000 + b"GET / piserver-wizard-verify 0123abcd\n")
    tail = site_owner.log_tail(str(log))
    assert len(tail) == site_owner.TAIL_BYTES and tail.endswith(b"0123abcd\n")
    (root_folder / "link.log").symlink_to(log)
    assert site_owner.log_tail(str(root_folder / "link.log")) == b""  # a link is not followed


def test_a_log_in_a_folder_of_another_user_is_not_read(root_folder: Path) -> None:
    from wizard import site_owner

    theirs = root_folder / "theirs"
    theirs.mkdir()
    (theirs / "x.log").write_text("GET /\n")
    assert site_owner.log_tail(str(theirs / "x.log")) == b"GET /\n"
    os.chown(theirs, 65534, 65534)  # nobody's: they could swap the file for anything
    assert site_owner.log_tail(str(theirs / "x.log")) == b""


def test_a_kept_file_is_said_when_its_step_is_already_done(root_folder: Path, tmp_path: Path) -> None:
    """The owner's edit is said on every run: the step that would write the sample is already done then
    (the owner's file counts as current), and a note still says the file was kept and why."""
    from hashlib import sha256

    from wizard.answers import load
    from wizard.engine import Engine
    from wizard.facts import Facts
    from wizard.files import PlannedFile
    from wizard.plan import Plan, Step
    from wizard.runner import PexpectRunner
    from wizard.state import State

    page = root_folder / "app.py"
    page.write_text("the owner's page\n")
    planned = PlannedFile(str(page), "the sample\n", owners_own=True,
                          recorded=sha256(b"the sample\n").hexdigest())
    plan = Plan(load(Path(__file__).parent.parent / "examples" / "answers.toml", has_systemd=False), Facts(),
                [Step("app-files", "Write the app's files", files=[planned])])
    events: list[object] = []
    result = Engine(plan, PexpectRunner(events.append), State.load(tmp_path / "state.json"), events.append).run()
    assert result.ok and result.ran == []
    notes = [e.text for e in events if isinstance(e, Output) and e.note]
    assert notes == [planned.kept_note() + "\n"] and page.read_text() == "the owner's page\n"
    assert [e.status for e in events if isinstance(e, StepFinished)] == [StepStatus.ALREADY_DONE]


def test_an_edited_sample_is_checked_and_the_app_restarted_by_the_next_run() -> None:
    """The owner's app.py hash is in the import check's inputs (and so app-settings', which reloads gunicorn on a
    change); the sample itself, or no file yet, adds nothing, so a same-answers re-run stays a no-op."""
    from hashlib import sha256

    from test_plan_render import facts, make_answers

    from wizard.facts import AppFacts
    from wizard.plan import build_plan
    from wizard.render import render
    from wizard.services import Services

    answers = make_answers()
    sample = sha256(render("app.py.j2", app=answers.app).encode()).hexdigest()

    def inputs(page_hash: str, **changes: object) -> tuple[dict, dict]:
        plan = build_plan(make_answers(**changes), facts(), Services(False),
                          app_facts=AppFacts(home="/home/pi", page_hash=page_hash))
        return plan.step("app-import").inputs, plan.step("app-settings").inputs

    assert inputs("") == inputs(sample)
    assert "owners_page" not in inputs(sample)[0]
    edited, program = inputs("ab" * 32)
    assert edited["owners_page"] == "ab" * 32 and program["app"]["owners_page"] == "ab" * 32
    assert "owners_page" not in inputs("ab" * 32, app__source="existing")[0]
