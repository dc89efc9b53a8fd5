"""The output pane during a flood: once full, its line count stays put (so no flush lays the screen out
again), and it shows the newest lines; what the step keeps is unchanged."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Log

from screens.output import MAX_LINES, for_pane
from screens.run_widgets import OutputPane, StepView


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield OutputPane()


def flush(view: StepView, first: int, count: int) -> list[str]:
    """What the run screen's flush does with one batch: the step keeps it, the pane gets its share."""
    completed = view.output.feed("".join(f"Get:{n} libexample{n % 977}\n" for n in range(first, first + count)))
    lines, flooding = for_pane(completed, gap=0)
    assert flooding
    return lines


async def test_a_flood_fills_the_pane_once_then_keeps_its_line_count():
    view = StepView("flood", "Print a flood", safe_to_skip=False)
    async with PaneApp().run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(OutputPane)
        pane.show(view, following=True)
        log = pilot.app.query_one("#output", Log)
        counts, first = [], 0
        for flush_number in range(8):
            pane.flood(view, flush(view, first, 1500))
            first += 1500
            await pilot.pause()
            counts.append(log.line_count)
            kept = list(view.output.lines)
            if flush_number == 1:  # filled with what the step kept: what selecting the step shows
                assert list(log.lines) == kept
            assert list(log.lines[-200:]) == kept[-200:]  # the newest lines, in order, at the bottom
        # The first flush adds the note and its newest lines, the second fills the pane, and from then on
        # each flush adds as many lines as the Log drops.
        assert counts[0] == 201 and counts[1:] == [MAX_LINES] * 7
        assert kept[-1] == f"Get:{first - 1} libexample{(first - 1) % 977}" and len(kept) == MAX_LINES


async def test_without_a_flood_the_pane_adds_every_line():
    view = StepView("quiet", "Print a few lines", safe_to_skip=False)
    async with PaneApp().run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(OutputPane)
        pane.show(view, following=True)
        completed = view.output.feed("one\n\nthree\n")
        lines, flooding = for_pane(completed, gap=0)
        assert not flooding
        pane.add(lines)
        await pilot.pause()
        assert list(pilot.app.query_one("#output", Log).lines) == ["one", " ", "three"]
