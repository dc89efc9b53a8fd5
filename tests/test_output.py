"""The run screen's output handling without Textual: the buffer between repaints and the pane's share."""

from __future__ import annotations

from screens.output import FLOOD_LINES, MAX_LINES, OutputBuffer, StepOutput, for_pane


def test_commands_and_output_come_back_in_order_per_step_cleaned():
    buffer = OutputBuffer()
    buffer.command("a", "apt-get update")
    buffer.output("a", "\x1b[1mHit:1\x1b[0m http://deb\r\n")
    buffer.output("b", "other step\n")
    buffer.output("a", "progress 10%\rprogress 99%\n")
    batches = {b.step_id: b for b in buffer.take()}
    assert batches["a"].text == "$ apt-get update\nHit:1 http://deb\nprogress 99%\n"
    assert batches["b"].text == "other step\n"
    assert not batches["a"].cut and batches["a"].gap == 0
    assert not buffer and buffer.take() == []  # taken whole: nothing is handed on twice


def test_a_flood_between_two_takes_keeps_the_newest_chunks_within_the_limit():
    buffer = OutputBuffer(limit=1000)
    for n in range(500):
        buffer.output("a", f"line {n:05}\n")  # 11 characters a chunk
        assert buffer.pending_chars() < 1000 + 11
    (batch,) = buffer.take()
    assert batch.cut  # the oldest were dropped: the step's history must not join across the hole
    assert batch.text.endswith("line 00499\n") and "line 00000" not in batch.text
    assert buffer.pending_chars() == 0


def test_bytes_the_runner_passed_over_are_said_and_end_the_line_in_progress():
    buffer = OutputBuffer()
    buffer.output("a", "tail of a flood\n", skipped=5_000_000)
    (batch,) = buffer.take()
    assert batch.cut and batch.gap == 5_000_000
    assert batch.text.startswith("… 4 MB more output, not read back (the log file has it all) …\n")
    output = StepOutput()
    output.feed("half a li")
    assert output.feed(batch.text, batch.cut)[0] == "half a li"


def test_only_the_last_lines_of_a_batch_are_cleaned():
    buffer = OutputBuffer(limit=10 ** 9)
    buffer.output("a", "".join(f"\x1b[32mline {n}\x1b[0m\n" for n in range(MAX_LINES + 500)))
    (batch,) = buffer.take()
    lines = batch.text.splitlines()
    assert batch.cut and len(lines) == MAX_LINES and lines[-1] == f"line {MAX_LINES + 499}"


def test_the_pane_gets_at_most_flood_lines_and_a_note_in_a_flood():
    few, flooding = for_pane(["one", "", "three"], gap=0)
    assert few == ["one", " ", "three"] and not flooding  # an empty line is a blank row, not nothing
    many, flooding = for_pane([f"l{n}" for n in range(FLOOD_LINES + 50)], gap=2_000)
    assert flooding and len(many) == FLOOD_LINES + 1
    assert many[0].startswith("… 50 more lines and 1 KB more output") and many[-1] == f"l{FLOOD_LINES + 49}"
    _, flooding = for_pane(["one"], gap=10)
    assert flooding  # a gap is a flood even when few lines arrived
