"""Line charts as inline SVG, drawn on the server: no JavaScript, no chart library, readable without CSS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
# Colour-blind-safe (Okabe-Ito); each series also has its own dash pattern.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "4 4")


@dataclass
class Line:
    name: str
    values: list[float | None]
    colour: str = ""
    dash: str = ""
    segments: list[str] = field(default_factory=list)  # "x,y x,y …" runs between gaps
    dots: list[tuple[float, float, str]] = field(default_factory=list)  # points a segment of one would hide


@dataclass
class Chart:
    title: str
    unit: str
    labels: list[str]
    lines: list[Line]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str, str]]  # x, label, text-anchor
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: int = HEIGHT - BOTTOM
    right_x: int = WIDTH - RIGHT

    @property
    def rows(self) -> list[tuple[str, list[float | None]]]:
        """The same figures as a table (label, one value per line), for screen readers and copying."""
        return [(label, [line.values[i] for line in self.lines]) for i, label in enumerate(self.labels)]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def line_chart(*, title: str, unit: str, starts: list[datetime], lines: list[tuple[str, list[float | None]]]) -> Chart:
    """A chart of one or more series sharing the time axis `starts` (None: no data in that bucket)."""
    peak = max((v for _, values in lines for v in values if v is not None), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(starts) - 1, 1)

    def x(i: int) -> float:
        return round(LEFT + i * step, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / peak), 1)

    drawn = []
    for n, (name, values) in enumerate(lines):
        line = Line(name=name, values=values, colour=COLOURS[n % len(COLOURS)], dash=DASHES[n % len(DASHES)])
        runs: list[list[tuple[float, float, float]]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((x(i), y(value), value))
        for run in runs:
            if len(run) == 1:
                line.dots.append((run[0][0], run[0][1], _fmt(run[0][2])))
            elif run:
                line.segments.append(" ".join(f"{px},{py}" for px, py, _ in run))
        drawn.append(line)
    labels = [start.strftime("%H:%M") for start in starts]
    picks = sorted({0, len(starts) // 2, len(starts) - 1}) if starts else []
    return Chart(
        title=title,
        unit=unit,
        labels=labels,
        lines=drawn,
        y_ticks=[(y(v), _fmt(v)) for v in (0.0, peak / 2, peak)],
        x_ticks=[(x(i), labels[i], "start" if i == 0 else "end" if i == len(starts) - 1 else "middle") for i in picks],
    )
