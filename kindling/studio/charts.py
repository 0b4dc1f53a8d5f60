"""Training curves as small inline SVG line charts, drawn on the server (no plotting library)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 360.0, 180.0
LEFT, RIGHT, TOP, BOTTOM = 56.0, 12.0, 24.0, 28.0


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _scale(lo: float, hi: float, size: float, flip: bool) -> tuple[float, float]:
    """(factor, offset) mapping [lo, hi] onto [0, size] (flipped for the y axis)."""
    span = hi - lo or 1.0
    return (-size / span, size + lo * size / span) if flip else (size / span, -lo * size / span)


def line_chart(title: str, points: Sequence[tuple[float, float]]) -> str:
    """An SVG line chart of (x, y) points with the y range and the x range written on the axes.

    Args:
        title: The series name (escaped; shown above the plot and as the SVG's title).
        points: (step, value) pairs in step order; at least one.

    Returns:
        An `<svg>` element to embed in a page.
    """
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    fx, ox = _scale(min(xs), max(xs), plot_w, flip=False)
    fy, oy = _scale(min(ys), max(ys), plot_h, flip=True)
    coords = " ".join(f"{LEFT + x * fx + ox:.1f},{TOP + y * fy + oy:.1f}" for x, y in points)
    name = escape(title)
    return "".join([
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f} '
        f'{HEIGHT:.0f}" width="{WIDTH:.0f}" height="{HEIGHT:.0f}" role="img" '
        f'data-series="{name}"><title>{name}</title>',
        f'<text class="chart-title" x="{LEFT}" y="16">{name} (last {_fmt(ys[-1])})</text>',
        f'<rect class="chart-frame" x="{LEFT}" y="{TOP}" width="{plot_w:.0f}" '
        f'height="{plot_h:.0f}" fill="none" stroke="#bbb"/>',
        f'<text class="chart-axis" x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end">'
        f"{_fmt(max(ys))}</text>",
        f'<text class="chart-axis" x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">'
        f"{_fmt(min(ys))}</text>",
        f'<text class="chart-axis" x="{LEFT}" y="{HEIGHT - 8}">step {_fmt(min(xs))}</text>',
        f'<text class="chart-axis" x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">'
        f"{_fmt(max(xs))}</text>",
        f'<polyline class="chart-line" points="{coords}" fill="none" stroke="#5b4bc4" '
        'stroke-width="1.5"/>',
        "</svg>",
    ])
