"""The geometry of the results page's bar charts, drawn on the server as SVG (no JavaScript
charting: the page works without scripts, prints, and the CSP allows no inline code).

A chart is horizontal bars, one per row: a label above the bar, the rate and its 95%
interval at the right, the bar from 0 to the rate and a whisker from the interval's low to
its high bound. Horizontal bars fit a phone: a long list grows down, never sideways. The
viewBox is WIDTH units wide, about a phone's CSS width, so text at FONT units reads at its
size there and the SVG scales with the page elsewhere.

Pure: rates in, coordinates out; the template only places them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from results.reports import Rate

WIDTH = 360
FONT = 13
ROW = 42  # one bar: its label line, the bar, and air
BAR = 14
LABEL_CHARS = 30  # beyond this a label is cut: SVG text does not wrap
AXIS = 18  # the bottom line with 0 %, 50 %, 100 %
CAP = 5  # half the height of a whisker's end


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


def interval(rate: Rate) -> str:
    """`20% (12–31%)`, or a dash when the group has no leads."""
    if rate.rate is None or rate.low is None or rate.high is None:
        return "–"
    return f"{percent(rate.rate)} ({round(rate.low * 100)}–{percent(rate.high)})"


@dataclass(frozen=True)
class ChartRow:
    label: str
    rate: Rate
    small: bool  # too few leads to compare: drawn muted


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    small: bool
    label_y: float  # the label's and the value's baseline
    y: float  # the bar's top
    width: float  # the bar: 0 → rate
    low: float  # the whisker: low → high
    high: float
    middle: float  # the whisker's line

    @property
    def cap_top(self) -> float:
        return round(self.middle - CAP, 1)

    @property
    def cap_bottom(self) -> float:
        return round(self.middle + CAP, 1)


@dataclass(frozen=True)
class Tick:
    x: float
    text: str
    anchor: str  # text-anchor: the outer ticks stay inside the viewBox


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: float
    bars: list[Bar]
    ticks: list[Tick]
    axis_y: float  # the ticks' baseline
    plot_bottom: float  # where the grid lines end


def x(share: float | None) -> float:
    return round(max(0.0, min(1.0, share or 0.0)) * WIDTH, 1)


def cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(title: str, rows: Sequence[ChartRow]) -> Chart:
    bars = []
    for n, row in enumerate(rows):
        top = n * ROW
        bar_y = top + FONT + 6
        bars.append(
            Bar(
                label=cut(row.label),
                value=interval(row.rate),
                small=row.small,
                label_y=top + FONT,
                y=bar_y,
                width=x(row.rate.rate),
                low=x(row.rate.low),
                high=x(row.rate.high),
                middle=bar_y + BAR / 2,
            )
        )
    plot_bottom = len(rows) * ROW
    ticks = [Tick(0, "0%", "start"), Tick(WIDTH / 2, "50%", "middle"), Tick(WIDTH, "100%", "end")]
    return Chart(
        title=title,
        width=WIDTH,
        height=plot_bottom + AXIS,
        bars=bars,
        ticks=ticks,
        axis_y=plot_bottom + FONT,
        plot_bottom=plot_bottom,
    )
