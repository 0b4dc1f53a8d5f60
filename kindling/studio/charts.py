"""Training curves as inline SVG line charts, drawn on the server (no plotting library).

A chart holds one or more series (e.g. one per run for an overlay), "nice" ticks on both axes
with light gridlines, the unit in the title and as the y-axis caption, an optional shaded band
(e.g. the reference length band) and, for several series, a legend with each last value.
Every piece of text that reaches the SVG goes through `html.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 420.0, 220.0
RIGHT, TOP, BOTTOM = 14.0, 26.0, 36.0
CHAR_W, TITLE_CHAR_W, LEGEND_ROW = 6.2, 7.0, 15.0
MIN_PLOT_W = 300.0
# Okabe-Ito colours (colour-blind safe), the yellow left out: too pale on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
NICE = (1.0, 2.0, 5.0)
Points = Sequence[tuple[float, float]]


@dataclass(frozen=True)
class _Axis:
    """One axis: the value range, its ticks, and where the plot spans on screen."""

    lo: float
    hi: float
    ticks: list[float]
    start: float  # screen coordinate of `lo`
    size: float  # screen length; negative for the (upward) y axis

    def at(self, value: float) -> float:
        """The screen coordinate of `value`."""
        return self.start + (value - self.lo) / (self.hi - self.lo) * self.size


def nice_ticks(lo: float, hi: float) -> list[float]:
    """Round tick values (a 1, 2 or 5 × 10^k step) inside [lo, hi], 4 to 6 of them if possible.

    Args:
        lo: The low end of the range.
        hi: The high end of the range (greater than `lo`).

    Returns:
        The ticks in increasing order; the step giving closest to 4–6 ticks wins, the finer one
        on a tie.
    """
    span = hi - lo
    if not span > 0 or not math.isfinite(span):
        return [lo]
    best: tuple[float, list[float]] | None = None
    base = math.floor(math.log10(span)) - 2
    for exp in range(base, base + 4):
        for mult in NICE:
            step = mult * 10.0**exp
            first = math.ceil(lo / step - 1e-9)
            ticks = [_clean((first + i) * step, step) for i in range(int(span / step) + 2)]
            ticks = [t for t in ticks if lo - step * 1e-9 <= t <= hi + step * 1e-9]
            miss = max(0, 4 - len(ticks), len(ticks) - 6)
            if best is None or miss < best[0]:
                best = (miss, ticks)
    return best[1] if best else [lo]


def _clean(value: float, step: float) -> float:
    """`value` rounded to the step's precision, so 3 × 0.1 is 0.3 and not 0.30000000000000004."""
    return round(value, max(0, 2 - math.floor(math.log10(step))))


def compact(value: float, digits: int = 4) -> str:
    """A short label for a number: 0, 0.37, 0.001, 1e-07, 2.5k, 1.2M, 3G.

    Args:
        value: The number.
        digits: Significant digits at most.

    Returns:
        The label (no trailing zeros; k/M/G suffixes from a thousand up, e-notation below 0.001).
    """
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if limit <= size < limit * 1e3:
            return f"{value / limit:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def _labels(ticks: Sequence[float]) -> list[str]:
    """Compact tick labels with just enough digits that neighbouring ticks read differently."""
    for digits in range(3, 11):
        labels = [compact(t, digits) for t in ticks]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def _range(values: Sequence[float], pad: float) -> tuple[float, float]:
    """The span of `values`, widened by `pad` of it each side; an empty span is padded ±10%
    of the value (±1 around zero) so a flat line sits mid-chart."""
    lo, hi = min(values), max(values)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        half = abs(hi) * 0.1 or 1.0
        return lo - half, hi + half
    margin = (hi - lo) * pad
    return lo - margin, hi + margin


def _finite(points: Points) -> list[tuple[float, float]]:
    """The points whose step and value are both finite numbers."""
    return [(float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y)]


def _clean_band(band: tuple[float, float] | None) -> tuple[float, float] | None:
    """The band as (lower, upper), or None when it is missing or not two finite numbers."""
    if not band or len(band) != 2 or not all(math.isfinite(v) for v in band):
        return None
    return min(band), max(band)


def _series_svg(label: str, points: Points, colour: str, xa: _Axis, ya: _Axis) -> str:
    """One series: a polyline, or a small circle when it has a single point."""
    name = escape(label)
    if len(points) == 1:
        x, y = points[0]
        return (f'<circle class="chart-point" data-label="{name}" cx="{xa.at(x):.1f}" '
                f'cy="{ya.at(y):.1f}" r="3" fill="{colour}"><title>{name}</title></circle>')
    coords = " ".join(f"{xa.at(x):.1f},{ya.at(y):.1f}" for x, y in points)
    return (f'<polyline class="chart-line" data-label="{name}" points="{coords}" fill="none" '
            f'stroke="{colour}" stroke-width="1.5"><title>{name}</title></polyline>')


def _grid_svg(xa: _Axis, ya: _Axis) -> list[str]:
    """Gridlines with tick labels on both axes."""
    x0, x1, y0, y1 = xa.start, xa.start + xa.size, ya.start, ya.start + ya.size
    out = []
    for tick, label in zip(ya.ticks, _labels(ya.ticks), strict=True):
        y = ya.at(tick)
        out.append(f'<line class="chart-grid" x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" '
                   f'y2="{y:.1f}" stroke="#eee"/><text class="chart-axis" x="{x0 - 4:.1f}" '
                   f'y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    for tick, label in zip(xa.ticks, _labels(xa.ticks), strict=True):
        x = xa.at(tick)
        out.append(f'<line class="chart-grid" x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" '
                   f'y2="{y0:.1f}" stroke="#eee"/><text class="chart-axis" x="{x:.1f}" '
                   f'y="{y0 + 13:.1f}" text-anchor="middle">{escape(label)}</text>')
    return out


def _band_svg(band: tuple[float, float], xa: _Axis, ya: _Axis) -> str:
    """The shaded horizontal band between two y values."""
    top, bottom = ya.at(band[1]), ya.at(band[0])
    return (f'<rect class="chart-band" x="{xa.start:.1f}" y="{top:.1f}" width="{xa.size:.1f}" '
            f'height="{bottom - top:.1f}" fill="#009E73" fill-opacity="0.12"/>')


def _legend_svg(entries: list[tuple[str, str]], x: float, y: float) -> str:
    """A legend: one row per series, a colour swatch and "label (last V)"."""
    rows = []
    for i, (text, colour) in enumerate(entries):
        row_y = y + i * LEGEND_ROW
        rows.append(f'<line x1="{x:.1f}" y1="{row_y - 4:.1f}" x2="{x + 16:.1f}" '
                    f'y2="{row_y - 4:.1f}" stroke="{colour}" stroke-width="3"/>'
                    f'<text class="chart-axis" x="{x + 22:.1f}" y="{row_y:.1f}">'
                    f"{escape(text)}</text>")
    return f'<g class="chart-legend">{"".join(rows)}</g>'


def line_chart(title: str, series: Mapping[str, Points], *, unit: str = "",
               band: tuple[float, float] | None = None, x_label: str = "step") -> str:
    """An SVG line chart of one or more (x, y) series with ticks, gridlines, captions, a legend.

    Args:
        title: The chart's name (shown above the plot, as the SVG's title and `data-series`).
        series: Label → (step, value) pairs in step order; non-finite points are left out.
        unit: The y unit ("tokens"), added to the title and shown as the y-axis caption.
        band: Two y values (any order) to shade between, e.g. a reference length band.
        x_label: The x-axis caption.

    Returns:
        An `<svg class="chart">` element to embed in a page.
    """
    drawn = {label: pts for label, pts in ((k, _finite(v)) for k, v in series.items()) if pts}
    band = _clean_band(band)
    ys = [y for pts in drawn.values() for _, y in pts] + list(band or ())
    xs = [x for pts in drawn.values() for x, _ in pts]
    y_lo, y_hi = _range(ys or [0.0], pad=0.04)
    x_lo, x_hi = _range(xs or [0.0], pad=0.0)
    y_ticks = nice_ticks(y_lo, y_hi)
    left = 14.0 * bool(unit) + 12.0 + CHAR_W * max(len(t) for t in _labels(y_ticks))
    plot_h = HEIGHT - TOP - BOTTOM
    ya = _Axis(y_lo, y_hi, y_ticks, TOP + plot_h, -plot_h)
    colours = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(drawn)}
    entries = [(f"{label} (last {compact(pts[-1][1])})", colours[label])
               for label, pts in drawn.items()] if len(drawn) > 1 else []
    heading = title + (f" ({unit})" if unit else "")
    if len(drawn) == 1:
        heading += f" (last {compact(next(iter(drawn.values()))[-1][1])})"
    elif not drawn:
        heading += " (no data)"
    width = max(WIDTH, 8.0 + TITLE_CHAR_W * len(heading) + RIGHT, left + MIN_PLOT_W + RIGHT,
                left + 22.0 + CHAR_W * max([len(t) for t, _ in entries] or [0]) + RIGHT)
    x_ticks = nice_ticks(x_lo, x_hi)
    right = max(RIGHT, 4.0 + CHAR_W * len(_labels(x_ticks)[-1]) / 2)
    xa = _Axis(x_lo, x_hi, x_ticks, left, width - left - right)
    height = HEIGHT + LEGEND_ROW * len(entries)
    name = escape(title)
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} '
             f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" data-series="{name}" '
             f'role="img"><title>{escape(heading)}</title>',
             f'<text class="chart-title" x="8" y="16">{escape(heading)}</text>']
    if band:
        parts.append(_band_svg(band, xa, ya))
    parts += _grid_svg(xa, ya)
    parts.append(f'<rect class="chart-frame" x="{left:.1f}" y="{TOP:.1f}" width="{xa.size:.1f}" '
                 f'height="{plot_h:.1f}" fill="none" stroke="#bbb"/>')
    if unit:
        mid = TOP + plot_h / 2
        parts.append(f'<text class="chart-axis chart-caption" x="12" y="{mid:.1f}" '
                     f'text-anchor="middle" transform="rotate(-90 12 {mid:.1f})">'
                     f"{escape(unit)}</text>")
    parts.append(f'<text class="chart-axis chart-caption" x="{left + xa.size / 2:.1f}" '
                 f'y="{TOP + plot_h + 28:.1f}" text-anchor="middle">{escape(x_label)}</text>')
    parts += [_series_svg(label, pts, colours[label], xa, ya) for label, pts in drawn.items()]
    if entries:
        parts.append(_legend_svg(entries, left, HEIGHT + 4))
    parts.append("</svg>")
    return "".join(parts)
