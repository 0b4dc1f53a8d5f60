"""The data the studio's charts draw: one chart per series (one line per run in an overlay).

Which series, in which unit, with which meaning and y range is planned in curve_plan.py; this
module turns a plan into JSON-safe chart records that the page carries in a
`<script type="application/json">` block, and that static/charts.js draws with the bundled uPlot
(hover values, smoothing, zoom, a log scale, integer steps, the alert steps marked). The caption
of each chart (name, unit, meaning, first/last/min/max) is rendered on the server as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from kindling.store.db import Store
from kindling.studio import runs_data
from kindling.studio.curve_plan import (
    display_order,
    length_band,
    meaning,
    plan_charts,
    unit_of,
    y_policy,
)

# Okabe-Ito colours (colour-blind safe), the yellow left out: too pale on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
MAX_OVERLAY = 6
"""Most runs one overlay draws."""
Points = Sequence[tuple[float, float]]


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


def _finite(points: Points) -> list[tuple[float, float]]:
    """The points whose step and value are both finite numbers."""
    return [(float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y)]


def _step(x: float) -> int | float:
    """A step as an int when it is a whole number (every logged step is)."""
    return int(x) if x.is_integer() else x


def summary(points: Points) -> str:
    """One line of a series' figures for its caption: first → last, min and max, steps."""
    if not points:
        return "no data"
    values = [y for _, y in points]
    if len(points) == 1:
        return f"{compact(values[0])} at step {compact(points[0][0])}"
    return (f"{compact(values[0])} → {compact(values[-1])} (min {compact(min(values))}, "
            f"max {compact(max(values))}) over {len(points)} steps")


def line_chart(chart_id: str, name: str, series: Mapping[str, Points], *,
               band: tuple[float, float] | None = None,
               alerts: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """One chart's record: the series aligned on their common steps, and how to draw them.

    Args:
        chart_id: The chart's id on the page (unique there).
        name: The logged series' name (its unit, meaning and y range follow from it).
        series: Line label → (step, value) points; non-finite points are left out, and a run
            without a point at some step has a gap there (drawn across). Each label keeps the
            colour of its place in `series`, drawn or not (a run is one colour in every chart).
        band: Two y values to shade between (the reference length band), or None.
        alerts: Watch alerts ({"step", "action", ...}) to mark as vertical lines.

    Returns:
        {"id", "name", "unit", "note", "summary", "x", "series": [{"label", "colour",
        "values", "last"}], "band", "y", "log_ok", "alerts"}; every number is finite or None.
    """
    colours = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(series)}
    drawn = {label: pts for label, pts in ((k, _finite(v)) for k, v in series.items()) if pts}
    steps = sorted({x for pts in drawn.values() for x, _ in pts})
    lines = []
    for label, pts in drawn.items():
        at = dict(pts)
        lines.append({"label": label, "colour": colours[label],
                      "values": [at.get(x) for x in steps], "last": compact(pts[-1][1])})
    every = [p for pts in drawn.values() for p in pts]
    return {
        "id": chart_id, "name": name, "unit": unit_of(name), "note": meaning(name),
        "summary": (summary(next(iter(drawn.values()))) if len(drawn) == 1 else
                    "last: " + ", ".join(f"{line['label']} {line['last']}" for line in lines)
                    if lines else "no data"),
        "x": [_step(x) for x in steps], "series": lines,
        "band": list(band) if band else None, "y": y_policy(name, every, band),
        "log_ok": bool(every) and all(y > 0 for _, y in every),
        "alerts": [{"step": a["step"], "action": str(a.get("action", "warn"))} for a in alerts
                   if isinstance(a.get("step"), int | float) and not isinstance(a["step"], bool)],
    }


def run_charts(run: Any) -> dict[str, Any]:
    """A run's charts as its plan orders them, and what is said rather than drawn.

    Returns:
        {"primary", "signals", "folded": chart records; "all": every record (the page's JSON);
        "alerts", "rules", "reference": the watch's; "flat_rewards", "flat_signals",
        "flat_others": constant series → value; "duplicates": series → the one it copies}.
    """
    curves = runs_data.curves(run)
    plan = plan_charts(curves)
    band = length_band(run.metrics or {})
    metrics = run.metrics or {}
    alerts = [a for a in metrics.get("watch_alerts") or [] if isinstance(a, dict)]
    counter = iter(range(len(curves)))

    def chart(name: str) -> dict[str, Any]:
        return line_chart(f"run-{next(counter)}", name, {name: curves[name]}, alerts=alerts,
                          band=band if unit_of(name) == "characters" else None)

    primary, signals = [chart(n) for n in plan.primary], [chart(n) for n in plan.signals]
    folded = [chart(n) for n in plan.folded]
    watch = metrics["watch"] if isinstance(metrics.get("watch"), dict) else {}
    return {"primary": primary, "signals": signals, "folded": folded,
            "all": primary + signals + folded, "alerts": alerts,
            "rules": watch.get("rules", []), "reference": watch.get("reference") or {},
            "flat_rewards": plan.flat_rewards, "flat_signals": plan.flat_signals,
            "flat_others": plan.flat_others, "duplicates": plan.duplicates}


def overlay_charts(store: Store, run_ids: list[int], wanted: str = "") -> dict[str, Any]:
    """Training runs' curves overlaid: one chart per series they all log that some run charts
    up front or flags as flat (or the one named), one line per run, each run the same colour
    in every chart.

    Args:
        store: The store.
        run_ids: The runs, in the order their lines are drawn (at most MAX_OVERLAY are used).
        wanted: One series to draw alone ("" for every shared one).

    Returns:
        {"charts": chart records, "series": the shared series' names, "runs": line labels,
        "same": series with one value in every run at every step (said, not drawn) → value}.

    Raises:
        NotFound: a run id names no run.
    """
    per_run = {}
    for run_id in run_ids[:MAX_OVERLAY]:
        run = runs_data.require_run(store, run_id)
        per_run[f"run {run_id}" + (f" · {run.name}" if run.name else "")] = runs_data.curves(run)
    if not per_run:
        return {"charts": [], "series": [], "runs": []}
    shared, same = overlay_series(per_run)
    names = [wanted] if wanted else [n for n in shared if n not in same]
    charts = [line_chart(f"overlay-{i}", name,
                         {label: c.get(name, []) for label, c in per_run.items()})
              for i, name in enumerate(names)]
    return {"charts": charts, "series": shared, "runs": list(per_run), "same": same}


def overlay_series(per_run: dict[str, dict[str, Any]]) -> tuple[list[str], dict[str, float]]:
    """The series every run logs that some run charts up front or flags as flat, in display
    order, and those of them with one value in every run at every step (→ that value)."""
    drawn: dict[str, None] = {}
    for curves in per_run.values():
        plan = plan_charts(curves)
        drawn |= dict.fromkeys(plan.primary + list(plan.flat_rewards) + plan.signals
                               + list(plan.flat_signals))
    shared = sorted((n for n in drawn if all(n in c for c in per_run.values())),
                    key=display_order)
    same = {n: v for n in shared if (v := one_value(c[n] for c in per_run.values())) is not None}
    return shared, same


def one_value(curves: Any) -> float | None:
    """The one value every point of these curves has, or None when they differ."""
    values = {y for points in curves for _, y in points}
    return values.pop() if len(values) == 1 else None
