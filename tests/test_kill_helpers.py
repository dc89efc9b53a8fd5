"""The kill matrix's moments, judged on made-up output: a wrong moment would make the matrix test nothing.

Last session's detector took lines by the time they were seen; lines read in one poll share a time, so a
step's header read together with its first command counted as a line *after* the command, and the
"middle of the longest command" fired at its very start.
"""

from __future__ import annotations

from kill_helpers import Moment, Progress, StepPlan, TimedCommand, finished_at, outcome, parse_reference, short

APT = "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 install nginx supervisor"
REFERENCE = [
    (0.0, "[ 1/3] Install the system packages (nginx, supervisor) ... "),
    (0.1, f"  $ {APT}"),
    (0.5, "Unpacking nginx (1.22.1-9) ..."),
    (20.1, "  -> done (20.1 s)"),
    (20.2, "[ 2/3] Start nginx ... "),
    (20.2, "  $ systemctl start nginx"),
    (20.7, "  $ systemctl is-active nginx"),
    (20.8, "  -> done (0.6 s)"),
    (20.9, "[ 3/3] Check the site answers on kill.test ... "),
    (21.5, "  -> done (0.6 s)"),
]


def progress(lines: list[tuple[float, str]], now: float) -> Progress:
    seen = Progress()
    for at, line in lines:
        seen.feed(line + "\n", at)
    seen.now = now
    return seen


def test_the_reference_gives_each_step_its_commands_and_their_times() -> None:
    plan = parse_reference(REFERENCE)
    assert [s.title for s in plan] == ["Install the system packages (nginx, supervisor)", "Start nginx",
                                       "Check the site answers on kill.test"]
    assert plan[0].longest.display == APT and round(plan[0].longest.seconds, 1) == 20.0
    assert plan[0].longest.lines == 1
    assert [round(c.seconds, 1) for c in plan[1].commands] == [0.5, 0.1]
    assert plan[2].longest is None


def test_mid_waits_for_half_the_reference_time_even_when_header_and_command_share_a_poll() -> None:
    moment = Moment(StepPlan(1, "Install the system packages (nginx, supervisor)", [TimedCommand(APT, 20.0)]),
                    "mid")
    same_poll = [(3.0, REFERENCE[0][1]), (3.0, f"  $ {APT}"), (3.4, "Unpacking nginx (1.22.1-9) ...")]
    assert not moment(progress(same_poll, now=3.5))
    assert not moment(progress(same_poll, now=12.9))
    assert moment(progress(same_poll, now=13.0))
    assert moment.note.startswith("apt-get install nginx: +10.0 s of 20.0 s")


def test_mid_of_a_chatty_command_is_half_its_reference_output() -> None:
    moment = Moment(StepPlan(1, "Install", [TimedCommand(APT, 20.0, lines=10)]), "mid")
    lines = [(0.0, "[ 1/3] Install ... "), (0.0, f"  $ {APT}")]
    lines += [(0.1 * n, f"Setting up package{n} ...") for n in range(1, 5)]
    assert not moment(progress(lines, now=30.0))  # the clock alone does not decide
    assert moment(progress(lines + [(0.5, "Setting up package5 ...")], now=0.5))
    assert "line 5 of 10" in moment.note and "package5" in moment.note


def test_mid_of_a_command_that_ended_early_kills_just_after_it() -> None:
    moment = Moment(StepPlan(2, "Start nginx", [TimedCommand("systemctl start nginx", 5.0)]), "mid")
    lines = [(1.0, "[ 2/3] Start nginx ... "), (1.0, "  $ systemctl start nginx"),
             (1.2, "  $ systemctl is-active nginx")]
    assert moment(progress(lines, now=1.2))
    assert "ended before its middle" in moment.note


def test_mid_of_a_step_found_done_kills_at_its_end() -> None:
    moment = Moment(StepPlan(2, "Start nginx", [TimedCommand("systemctl start nginx", 5.0)]), "mid")
    lines = [(1.0, "[ 2/3] Start nginx ... ")]
    assert not moment(progress(lines, now=1.0))
    assert moment(progress(lines + [(1.1, "  -> already done (0.0 s)")], now=1.1))
    assert "found done" in moment.note


def test_start_waits_for_its_own_step_by_title() -> None:
    moment = Moment(StepPlan(3, "Check the site answers on kill.test"), "start")
    assert not moment(progress(REFERENCE[:8], now=20.8))
    assert moment(progress(REFERENCE[:9], now=20.9))


def test_progress_keeps_a_line_split_between_two_reads_whole() -> None:
    seen = Progress()
    seen.feed("[ 1/3] Install", 0.1)
    assert seen.lines == []
    seen.feed(" nginx ... \n  $ apt", 0.2)
    seen.finish(0.3)
    assert [line for _, line in seen.lines] == ["[ 1/3] Install nginx ... ", "  $ apt"]


def test_outcome_and_end_times_read_both_line_forms() -> None:
    text = "\n".join(line for _, line in REFERENCE) + "\n"
    assert outcome(text)["Start nginx"] == "done"
    assert outcome("[ 1/2] Start nginx ... already done (0.0 s)\n")["Start nginx"] == "already done"
    assert finished_at(REFERENCE, "Start nginx") == 20.8
    assert short("(as pi) /home/pi/kilt/venv/bin/pip install -q flask") == "pip install flask"
