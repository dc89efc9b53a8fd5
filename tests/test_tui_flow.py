"""Pilot tests through the whole TUI at 80x24: questions, review, a real run, failure and Retry, sudo, finish."""

from __future__ import annotations

import asyncio
import io
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Input, Log, Static

from screens.app import make_app
from screens.confirm import ConfirmScreen
from screens.finish import FinishScreen
from screens.questions import FieldRow, QuestionsScreen
from screens.review import ReviewScreen
from screens.run import RunScreen
from screens.welcome import WelcomeScreen
from wizard.answers import Answers, load, save
from wizard.commands import Command
from wizard.plan import Step
from wizard.state import State, StepRecord
from wizard.transcript import strip_ansi

import tui_helpers as h

SIZE = (80, 24)


pytestmark = pytest.mark.usefixtures("state_dir")  # conftest: a progress store per test


def app_for(tmp: Path, steps=h.harmless_steps, **kwargs):
    options = dict(facts=h.fixed_facts(), state=State(tmp / "state" / "state.json"),
                   session_factory=h.session_factory(tmp, steps), runner_factory=h.root_runner,
                   log_path=lambda: tmp / "logs" / "run.log", saved_answers=tmp / "state" / "answers.toml")
    options.update(kwargs)
    return make_app(**options)


async def wait_for(pilot, condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError(f"timed out waiting for {what}; screen is {pilot.app.screen!r}")


async def to_review(pilot) -> None:
    """Straight to the review of the sample answers, its plan prepared (what most run tests start from)."""
    app = pilot.app
    await wait_for(pilot, lambda: app.facts is not None)
    app.review(h.sample_answers())
    await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.session is not None)


def text_of(widget: Static) -> str:
    """The plain text a Static shows, whatever it was given (markup, Text, a Rich renderable)."""
    # Static.content from Textual 6 on; Textual 5 (the lowest the wizard allows) calls it renderable.
    content = widget.content if hasattr(widget, "content") else widget.renderable
    if isinstance(content, str):
        return str(widget.render())
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(content)
    return console.export_text()


def row_error(screen, dotted: str) -> str:
    row = screen.query_one(f"#row-{dotted.replace('.', '-')}", FieldRow)
    error = row.query_one(".field-error", Static)
    return text_of(error) if error.display else ""


def log_text(screen) -> str:
    return "\n".join(screen.query_one("#output", Log).lines)


async def type_into(pilot, widget_id: str, text: str, clear: bool = True):
    widget = pilot.app.screen.query_one(f"#{widget_id}", Input)
    widget.focus()
    if clear:
        widget.value = ""
    await pilot.press(*text)
    await pilot.pause()


async def answer_questions(pilot):
    """Welcome -> the four question screens, with a refused Next and a Back on the way."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen) and app.facts is not None)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, QuestionsScreen) and app.screen.section == "system")
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "site")
    site = app.screen
    # Next with no domain: refused, the message under the field.
    await pilot.press("ctrl+n")
    await pilot.pause()
    assert app.screen is site
    assert "at least one domain" in row_error(site, "site.domains")
    # As-you-type: a bad name is refused by the same validator as the answers file.
    await type_into(pilot, "f-site-domains", "pi.example.com, bad_name.example.com")
    assert "may hold only letters" in row_error(site, "site.domains")
    await pilot.press("ctrl+n")
    await pilot.pause()
    assert app.screen is site
    await type_into(pilot, "f-site-domains", "pi.example.com")
    assert row_error(site, "site.domains") == ""
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "app")
    await type_into(pilot, "f-app-workers", "0")
    assert "must be a whole number of at least 1" in row_error(app.screen, "app.workers")
    await type_into(pilot, "f-app-workers", "3")
    # Back keeps what was typed, both on the screen we left and the one we return to.
    await pilot.press("escape")
    await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "site")
    assert app.screen.query_one("#f-site-domains", Input).value == "pi.example.com"
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "app")
    assert app.screen.query_one("#f-app-workers", Input).value == "3"
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "https")
    https = app.screen
    await pilot.press("ctrl+n")
    await pilot.pause()
    assert app.screen is https
    assert row_error(https, "https.email") == ""  # optional: Let's Encrypt sends no expiry mail any more
    assert "write agree_tos = true" in row_error(https, "https.agree_tos")
    await type_into(pilot, "f-https-email", "admin@example.com")
    https.query_one("#f-https-agree_tos").focus()
    await pilot.press("space")
    await pilot.pause()
    assert row_error(https, "https.agree_tos") == ""
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.session is not None,
                   what="the plan")


async def test_whole_flow_with_a_failure_and_retry(tmp_path, state_dir):
    app = app_for(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await answer_questions(pilot)
        review = app.screen
        plan = text_of(review.query_one("#plan-text", Static))
        assert "Count to 300" in plan and "to do" in plan
        assert "sh -c" in plan  # each step's commands
        await pilot.press("f")
        await pilot.pause()
        files = text_of(review.query_one("#files-text", Static))
        assert "site.conf" in files and "+server {}" in files
        # Save answers: a commented file that loads back to the same answers.
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "SaveScreen")
        target = tmp_path / "saved.toml"
        await type_into(pilot, "save-path", str(target))
        await pilot.press("enter")
        await wait_for(pilot, lambda: target.exists(), what="the saved answers")
        assert load(target) == review.session.answers
        assert "# the names this Pi answers to; the first is the main one" in target.read_text()
        assert load(target).app.workers == 3
        # Install: real commands stream into the pane.
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        await wait_for(pilot, lambda: run.failed == "flaky", what="the flaky step to fail")
        assert run.views["hello"].status == "done" and run.views["count"].status == "done"
        assert "no flag yet" in log_text(run)  # the pane shows the failed step
        failure = text_of(run.query_one("#failure-text", Static))
        assert "Fail until the flag exists" in failure and "status 3" in failure
        assert run.query_one("#skip").display  # safe_to_skip
        # Selecting a finished step reopens its output.
        steps = run.query_one("#steps")
        steps.focus()
        steps.index = 1
        await pilot.press("enter")
        await pilot.pause()
        assert "line 300" in log_text(run) and "line 1\n" in log_text(run) + "\n"
        # Fix the cause, Retry: the run resumes at the failed step and finishes.
        (tmp_path / "flag").touch()
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, FinishScreen) and app.screen.query(".summary-value"),
                       what="the finish screen")
        assert (tmp_path / "out" / "site.conf").read_text() == "server {}\n"
        finish = app.screen
        summary = " ".join(text_of(s) for s in finish.query(Static))
        assert "https://pi.example.com/" in summary
        assert "192.168.1.50" in summary
        assert "piserver-wizard restart hello" in summary
        assert str(tmp_path / "logs" / "run.log") in summary
        assert str(state_dir / "answers.toml") in summary
        assert (state_dir / "answers.toml").exists()  # remembered for Resume
        log = (tmp_path / "logs" / "run.log").read_text()
        assert "line 300" in log and "flaky failed" in log and "flaky done" in log
        await pilot.press("q")
    assert app.return_code == 0


def question_steps(tmp: Path) -> list[Step]:
    script = 'printf "Continue anyway? [y/N] "; read answer; echo "you said $answer"'
    return [Step("ask", "Ask a question nobody foresaw", commands=[Command.of("sh", "-c", script)],
                 is_done=h.never_done)]


async def test_an_unforeseen_question_gets_an_input_line(tmp_path):
    app = app_for(tmp_path, steps=question_steps)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        await wait_for(pilot, lambda: run.query_one("#prompt-row").display, what="the input line")
        assert "Continue anyway?" in text_of(run.query_one("#prompt-label"))
        await pilot.press("y", "e", "s", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FinishScreen))
        await pilot.pause(0.2)
        await pilot.press("q")
    assert "you said yes" in (tmp_path / "logs" / "run.log").read_text()


def flood_steps(tmp: Path) -> list[Step]:
    script = ("import sys\nfor i in range(200000): "
              "sys.stdout.write(f'\\x1b[32mline {i}\\x1b[0m of a flood\\r\\n')")
    return [Step("flood", "Print two hundred thousand lines",
                 commands=[Command.of(sys.executable, "-c", script)], is_done=h.never_done),
            Step("after", "Then one more", commands=[Command.of("sh", "-c", "echo the end")],
                 is_done=h.never_done)]


async def test_a_flood_of_output_is_batched_and_bounded(tmp_path):
    app = app_for(tmp_path, steps=flood_steps)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot)
        app.screen.action_install()  # not pilot.press: Pilot waits for a quiet queue, and a flood is not quiet
        # How long the event loop stalls is the benchmark's to say (bench/run.py): a timed assertion here
        # failed on a loaded machine (1.7 s with ten runnable processes on two cores, before and after).
        seen_lines, deadline = 0, time.monotonic() + 120
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            run = app.screen
            if isinstance(run, RunScreen) and run.shown == "flood":
                seen_lines = max(seen_lines, len(run.query_one("#output", Log).lines))
            if isinstance(run, FinishScreen):
                break
        assert isinstance(app.screen, FinishScreen)
        assert 0 < seen_lines <= 2001
        # Mounted before it is left (on a loaded machine 0.2 s was not always enough: its on_mount failed).
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "done", what="the finish screen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        run.query_one("#steps").index = 0
        run.query_one("#steps").focus()
        await pilot.press("enter")
        await pilot.pause()
        lines = run.query_one("#output", Log).lines
        assert len(lines) <= 2001
        assert "line 199999 of a flood" in "\n".join(lines)
        assert "\x1b" not in "\n".join(lines)
        await pilot.press("ctrl+q")
    # The transcript is whole: the command wrote it there itself, colours and all, at a file's speed.
    log = strip_ansi((tmp_path / "logs" / "run.log").read_text())
    assert "line 0 of a flood" in log and "line 199999 of a flood" in log
    assert log.count(" of a flood") == 200000


def slow_steps(tmp: Path) -> list[Step]:
    return [Step("slow", "Take a long time", commands=[Command.of("sh", "-c", "echo started; sleep 60")],
                 is_done=h.never_done),
            Step("next", "Never reached", commands=[Command.of("sh", "-c", f"touch '{tmp}/reached'")],
                 is_done=h.never_done)]


async def test_ctrl_q_while_a_step_runs_asks_and_says_a_rerun_resumes(tmp_path):
    app = app_for(tmp_path, steps=slow_steps)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.views["slow"].status == "running")
        await pilot.pause(0.3)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "resumes" in " ".join(text_of(s) for s in app.screen.query(Static))
        await pilot.press("escape")  # keep running
        await pilot.pause()
        assert isinstance(app.screen, RunScreen) and app.screen.running
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        started = time.monotonic()
        await pilot.press("y")
        await wait_for(pilot, lambda: app._exit, timeout=15, what="the app to exit")
        assert time.monotonic() - started < 10
    assert app.return_code == 1
    assert not (tmp_path / "reached").exists()
    # Quitting is not a failure of the step: its record says it was interrupted, and the next run redoes it.
    assert State.load(tmp_path / "state" / "state.json").steps["hello/slow"].status == "running"


async def test_welcome_offers_resume_after_an_earlier_run(tmp_path, state_dir):
    saved = tmp_path / "state" / "answers.toml"
    saved.parent.mkdir(parents=True, exist_ok=True)
    save(h.sample_answers(), saved)
    state = State(tmp_path / "state" / "state.json",
                  steps={"hello/hello": StepRecord("done"), "hello/flaky": StepRecord("failed", message="boom")})
    app = app_for(tmp_path, state=state)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen) and app.facts is not None)
        welcome = app.screen
        earlier = text_of(welcome.query_one("#earlier", Static))
        assert "1 step done" in earlier and "flaky" in earlier and "boom" in earlier
        assert welcome.query_one("#resume").display and not welcome.query_one("#start").display
        await pilot.press("c")  # change settings: the questions start from the saved answers
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionsScreen))
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "site")
        assert app.screen.query_one("#f-site-domains", Input).value == "pi.example.com"
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await pilot.press("r")  # resume: straight to the review of the saved answers
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.session is not None)
        assert app.screen.session.answers == h.sample_answers()
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_a_second_wizard_is_refused_by_the_run_lock(tmp_path, state_dir):
    from wizard.session import run_lock

    holder = run_lock()
    holder.acquire()
    try:
        app = app_for(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await to_review(pilot)
            await pilot.press("i")
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.crashed)
            assert "another piserver-wizard is running" in text_of(app.screen.query_one("#failure-text", Static))
            assert not (tmp_path / "out").exists()
            await pilot.press("q")
        assert app.return_code == 1
    finally:
        holder.release()


async def test_the_folder_follows_name_and_user_and_quitting_typed_answers_asks(tmp_path):
    app = app_for(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen) and app.facts is not None)
        app.start_questions(Answers(site=h.sample_answers().site))
        app.draft.directory_follows = True  # as for fresh answers
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionsScreen))
        app.after_section("site")
        await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "app")
        name = app.screen.query_one("#f-app-name", Input)
        name.focus()
        name.value = ""
        for text in ("f", "fa", "fas", "fast", "fastapp"):  # changes in a burst, as from a paste
            name.value = text
        await pilot.pause(0.3)
        assert app.screen.query_one("#f-app-directory", Input).value == "/home/pi/fastapp"
        assert app.draft.directory_follows
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "not saved" in " ".join(text_of(s) for s in app.screen.query(Static))
        await pilot.press("escape")
        await wait_for(pilot, lambda: getattr(app.screen, "section", "") == "app")


async def test_a_preflight_refusal_shows_in_the_review_and_asks_before_install(tmp_path):
    from wizard.facts import Listener

    facts = h.fixed_facts(listeners=[Listener(80, "python3", 4242)])
    app = app_for(tmp_path, facts=facts)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot)
        review = app.screen
        plan = text_of(review.query_one("#plan-text", Static))
        assert "STOP: port 80 is held by python3" in plan
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "port 80 is held by python3" in " ".join(text_of(s) for s in app.screen.query(Static))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is review)


async def test_keys_in_one_read_change_the_answer_as_typed(tmp_path):
    """Over a slow link "backspace, 3" reach the workers field together; the answer is 3, not 9."""
    from textual import events

    app = app_for(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await pilot.pause(0.3)
        app.start_questions(h.sample_answers())
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionsScreen))
        app.after_section("site")
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionsScreen) and app.screen.section == "app")
        field = app.screen.query_one("#f-app-workers", Input)
        field.focus()
        field.cursor_position = len(field.value)
        await pilot.pause()
        for key, char in (("backspace", None), ("3", "3")):
            app.post_message(events.Key(key, char))
        await pilot.pause(0.3)
        assert field.value == "3"
        assert app.draft.raw["app.workers"] == "3"
