"""Geometry for the server-drawn SVG charts (no charting library, no inline styles:
the template draws rects and text from these numbers, colours come from site.css)."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from campaign.selectors import DistrictTurnout

# Up to this many districts each gets a labelled bar; beyond, one thin column each.
LABELLED_MAX = 30
WIDTH = 400


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    mine: bool
    label_y: float = 0.0


@dataclass(frozen=True)
class TurnoutChart:
    kind: str  # "bars" (labelled, one per row) or "columns" (one thin column each)
    width: int
    height: int
    bars: list[Bar]
    median_percent: float
    median_x: float
    median_y: float
    summary: str


def _percent(value: float) -> str:
    return f"{value:.0f}%" if value >= 10 or value == 0 else f"{value:.1f}%"


def turnout_chart(lines: list[DistrictTurnout]) -> TurnoutChart | None:
    """Turnout by district, highest first; the user's own districts marked ``mine``."""
    if not lines:
        return None
    mid = median(line.percent for line in lines)
    mine = [line for line in lines if line.mine]
    summary = (
        f"Turnout among supporters in {len(lines)} district{'s' if len(lines) != 1 else ''}: "
        f"highest {lines[0].name} {_percent(lines[0].percent)}, lowest {lines[-1].name} "
        f"{_percent(lines[-1].percent)}, median {_percent(mid)}."
    )
    if mine:
        ranks = {line.district_id: rank for rank, line in enumerate(lines, start=1)}
        summary += " Yours: " + "; ".join(
            f"{line.name} {_percent(line.percent)} ({_ordinal(ranks[line.district_id])} "
            f"of {len(lines)})"
            for line in mine
        )
        summary += "."
    if len(lines) <= LABELLED_MAX:
        row, bar_height, track = 38, 12, WIDTH
        bars = [
            Bar(
                x=0,
                y=i * row + 20,
                width=max(track * line.percent / 100, 0.0),
                height=bar_height,
                label=line.name,
                value=_percent(line.percent),
                mine=line.mine,
                label_y=i * row + 14,
            )
            for i, line in enumerate(lines)
        ]
        height = len(lines) * row + 4
        return TurnoutChart("bars", WIDTH, height, bars, mid, WIDTH * mid / 100, height, summary)
    height, top = 160, 10
    scale_max = max(max(line.percent for line in lines), 10.0)
    column = WIDTH / len(lines)
    bars = []
    for i, line in enumerate(lines):
        # A sliver even at 0%, so every district (and the user's own) can be found.
        h = max((height - top) * line.percent / scale_max, 2.0)
        bars.append(
            Bar(
                x=i * column,
                y=height - h,
                width=max(column - (0.5 if column > 2 else 0), 0.5),
                height=h,
                label=line.name,
                value=_percent(line.percent),
                mine=line.mine,
            )
        )
    median_y = height - (height - top) * mid / scale_max
    return TurnoutChart("columns", WIDTH, height, bars, mid, 0, median_y, summary)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
