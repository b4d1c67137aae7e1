"""Small inline SVG charts (bars, lines, histograms) for the HTML report: no library, no CDN.

Every mark carries a `<title>` (the browser's own hover text) and a `data-tip` attribute that the
report's inline script shows as a styled tooltip."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

# Series colours; none is a red or pink, which would read as NO_CORRECT (a task without a correct kernel).
PALETTE = ("#4269d0", "#efb118", "#3ca951", "#a463f2", "#6cc5b0", "#97bbf5", "#b07aa1", "#8c8c8c")
NO_CORRECT = "#c0392b"
LABEL_CHARS = 18  # longer bar labels end in '…' (the tooltip has them whole)

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 48


@dataclass
class Bar:
    label: str
    value: float
    tip: str
    color: str = PALETTE[0]


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]]
    tips: list[str] = field(default_factory=list)
    color: str = PALETTE[0]


def _mark(tag: str, tip: str, **attrs: str | float) -> str:
    text = " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items())
    return f'<{tag} {text} data-tip="{escape(tip)}"><title>{escape(tip)}</title></{tag}>'


def _svg(body: list[str], label: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" class="chart">' + "".join(body) + "</svg>"
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp: float = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _y_axis(y_max: float, height: int, fmt: str, width: int = WIDTH) -> list[str]:
    out = []
    plot_h = height - TOP - BOTTOM
    for i in range(5):
        v = y_max * i / 4
        y = TOP + plot_h * (1 - i / 4)
        out.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{format(v, fmt)}</text>'
        )
    return out


def _axis_titles(x_title: str | None, y_title: str | None) -> list[str]:
    out = []
    if x_title:
        out.append(f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 4}" class="axis" '
                   f'text-anchor="middle">{escape(x_title)}</text>')  # fmt: skip
    if y_title:
        cy = TOP + (HEIGHT - TOP - BOTTOM) / 2
        out.append(f'<text x="12" y="{cy}" class="axis" text-anchor="middle" '
                   f'transform="rotate(-90 12 {cy})">{escape(y_title)}</text>')  # fmt: skip
    return out


def _short_label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def bar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    y_fmt: str = ".2f",
    ref_line: float | None = None,
    y_max: float | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
) -> str:
    """Vertical bars, one per item; `ref_line` draws a dashed line (e.g. 1x = as fast as eager);
    `x_title` and `y_title` name the axes (with their units)."""
    if not bars:
        return '<p class="empty">No data.</p>'
    y_max = y_max or _nice_max(max([b.value for b in bars] + [ref_line or 0.0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(bars)
    body = _y_axis(y_max, HEIGHT, y_fmt)
    for i, b in enumerate(bars):
        h = plot_h * max(b.value, 0.0) / y_max
        x = LEFT + i * step + step * 0.1
        body.append(
            _mark("rect", b.tip, x=f"{x:.1f}", y=f"{TOP + plot_h - h:.1f}", width=f"{step * 0.8:.1f}",
                  height=f"{max(h, 1.0):.1f}", fill=b.color, class_="mark")
        )  # fmt: skip
        if len(bars) <= 24:
            cx, cy = x + step * 0.4, HEIGHT - BOTTOM + 12
            body.append(
                f'<text x="{cx:.1f}" y="{cy}" class="tick" text-anchor="end" '
                f'transform="rotate(-30 {cx:.1f} {cy})">{escape(_short_label(b.label))}</text>'
            )
    if ref_line is not None:
        y = TOP + plot_h * (1 - ref_line / y_max)
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="ref"/>')
    body += _axis_titles(x_title, y_title)
    return _svg(body, label)


def line_chart(
    series: Sequence[Series], *, label: str, x_label: str, y_fmt: str = ".2f", y_title: str | None = None
) -> str:
    """Lines with a dot per point; x and y both linear from 0."""
    points = [p for s in series for p in s.points]
    if not points:
        return '<p class="empty">No data.</p>'
    x_max = max(p[0] for p in points) or 1.0
    y_max = _nice_max(max(p[1] for p in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(p: tuple[float, float]) -> tuple[float, float]:
        return LEFT + plot_w * p[0] / x_max, TOP + plot_h * (1 - p[1] / y_max)

    body = _y_axis(y_max, HEIGHT, y_fmt)
    for i in range(5):
        xv = x_max * i / 4
        body.append(f'<text x="{xy((xv, 0))[0]:.1f}" y="{HEIGHT - BOTTOM + 16}" class="tick" '
                    f'text-anchor="middle">{xv:.3g}</text>')  # fmt: skip
    body += _axis_titles(x_label, y_title)
    for s in series:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, s.points))
        body.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2"/>')
        tips = s.tips or [f"{s.name}: {p[1]:.3g} at {p[0]:.3g}" for p in s.points]
        for p, tip in zip(s.points, tips, strict=False):
            x, y = xy(p)
            body.append(
                _mark("circle", tip, cx=f"{x:.1f}", cy=f"{y:.1f}", r=3.5, fill=s.color, class_="mark")
            )
    return _svg(body, label)


def histogram(
    values: Sequence[float], *, label: str, unit: str, bins: int = 10, color: str = PALETTE[3]
) -> str:
    """Counts per equal-width bin; each bar's tip gives its range and count."""
    if not values:
        return '<p class="empty">No data.</p>'
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins if hi > lo else 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    bars = [
        Bar(
            f"{lo + i * width:.3g}",
            c,
            f"{lo + i * width:.4g}-{lo + (i + 1) * width:.4g} {unit}: {c} task{'' if c == 1 else 's'}",
            color,
        )
        for i, c in enumerate(counts)
    ]
    # four grid steps of whole tasks, so the count ticks are integers
    return bar_chart(bars, label=label, y_fmt=".0f", y_max=4 * math.ceil(max(counts) / 4),
                     x_title=f"{label} ({unit}, bin lower bound)", y_title="tasks")  # fmt: skip
