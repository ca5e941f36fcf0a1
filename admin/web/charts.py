"""Charts as inline SVG, drawn on the server: the geometry is computed here, the markup is one
Jinja macro (templates/charts.html), the colours come from admin.css. No script, nothing from
elsewhere, and every chart has its figures in a table beside it (docs/decisions.md says why
not a chart library)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 80, 16, 14, 34


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    width: float
    height: float
    title: str  # shown on hover and read by screen readers
    css: str = ""  # a class for its colour (grade bands), else the chart's own


@dataclass
class Chart:
    kind: str  # bars | line
    label: str  # what the chart shows, for assistive technology
    width: int = WIDTH
    height: int = HEIGHT
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    line: str = ""  # polyline points
    band: str = ""  # polygon points of the confidence band
    empty: bool = False
    withheld: bool = False  # there were answers, but no point reached the minimum sample

    @property
    def left(self) -> int:
        return LEFT

    @property
    def right(self) -> int:
        return self.width - RIGHT

    @property
    def top(self) -> int:
        return TOP

    @property
    def bottom(self) -> int:
        return self.height - BOTTOM


def nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 × 10^k) giving about `ticks` gridlines up to `top`."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(max(1, factor * power)) if top >= ticks else float(factor * power)
    return float(10 * power)


def _x_ticks(
    labels: Sequence[str], positions: Sequence[float], short: Callable[[str], str]
) -> list[tuple[float, str]]:
    if not labels:
        return []
    every = max(1, math.ceil(len(labels) / 8))
    return [(positions[i], short(labels[i])) for i in range(0, len(labels), every)]


def bar_chart(
    labels: Sequence[str],
    values: Sequence[int],
    label: str,
    number: Callable[[float], str],
    short: Callable[[str], str] = lambda s: s,
    classes: Sequence[str] | None = None,
    width: int = WIDTH,
) -> Chart:
    """Bars of counts; `classes` colours each bar (one CSS class per value), `width` is the
    drawing's own (a narrower one keeps its text readable in half a page)."""
    chart = Chart("bars", label, width=width)
    if not values:
        chart.empty = True
        return chart
    step = max(1.0, nice_step(max(values)))  # counts: no gridline between two whole numbers
    top = step * math.ceil(max(values) / step) or step
    span_x = chart.right - chart.left
    span_y = chart.bottom - chart.top
    slot = span_x / len(values)
    gap = min(4.0, slot * 0.2)
    positions = []
    for index, (name, value) in enumerate(zip(labels, values, strict=True)):
        height = span_y * value / top
        x = chart.left + index * slot + gap / 2
        positions.append(x + (slot - gap) / 2)
        css = classes[index] if classes else ""
        chart.marks.append(
            Mark(x, chart.bottom - height, slot - gap, height, f"{name}: {number(value)}", css)
        )
    chart.y_ticks = [
        (chart.bottom - span_y * (i * step) / top, number(i * step))
        for i in range(round(top / step) + 1)
    ]
    chart.x_ticks = _x_ticks(labels, positions, short)
    return chart


def share_line(
    labels: Sequence[str],
    values: Sequence[float | None],
    bounds: Sequence[tuple[float, float] | None],
    label: str,
    percent: Callable[[float], str],
    short: Callable[[str], str] = lambda s: s,
) -> Chart:
    """Shares (0–1) over time as a line with its 95 % band; withheld points leave a gap-free
    line through the others and are not drawn."""
    chart = Chart("line", label)
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        chart.empty = True
        chart.withheld = bool(labels)
        return chart
    span_x = chart.right - chart.left
    span_y = chart.bottom - chart.top
    count = len(labels)

    def x_of(i: int) -> float:
        return chart.left + (span_x * (i + 0.5) / count)

    def y_of(v: float) -> float:
        return chart.bottom - span_y * v

    # Whole percents on the axis: short enough to read on a phone.
    chart.y_ticks = [(y_of(v), f"{round(100 * v)}\u00a0%") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    chart.line = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in known)
    banded = [(i, b) for i, b in enumerate(bounds) if b is not None]
    if banded:
        upper = [f"{x_of(i):.1f},{y_of(b[1]):.1f}" for i, b in banded]
        lower = [f"{x_of(i):.1f},{y_of(b[0]):.1f}" for i, b in reversed(banded)]
        chart.band = " ".join(upper + lower)
    for i, v in known:
        chart.marks.append(Mark(x_of(i), y_of(v), 0, 0, f"{labels[i]}: {percent(v)}"))
    chart.x_ticks = _x_ticks(labels, [x_of(i) for i in range(count)], short)
    return chart
