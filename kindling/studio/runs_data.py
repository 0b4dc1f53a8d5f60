"""Read-only run queries for the studio: paged run lists, one run's summary, training curves."""

from __future__ import annotations

import math
from typing import Any

from kindling.graphs.registry import graph_of_run
from kindling.store import reports
from kindling.store.db import Store
from kindling.store.errors import NotFound
from kindling.store.eval_names import eval_run_name
from kindling.store.label_agreement import label_agreement
from kindling.store.models import Run
from kindling.store.refs import no_run_message
from kindling.store.reports import call_stats, runs_page, verdict_stats
from kindling.store.run_liveness import shown_status
from kindling.store.run_summary import debug_marks
from kindling.studio.run_figures import COLUMNS, NONE, run_figures

CURVE_ORDER = ("reward", "loss", "completions/mean_length", "completion_length", "accuracy",
               "margin", "kl", "entropy", "grad_norm", "learning_rate")
"""Training curves drawn first, in this order; other numeric series follow by name."""


def run_row(run: Run) -> dict[str, Any]:
    """A run's header fields, JSON-safe (no metrics)."""
    return {"id": run.id, "kind": run.kind, "name": run.name, "status": shown_status(run),
            "started_at": run.started_at.isoformat(timespec="seconds"),
            "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at
            else None, "code_version": run.code_version, "graph": graph_of_run(run.kind),
            "marks": debug_marks(run.config or {})}


def list_runs(store: Store, *, kind: str | None, offset: int, limit: int) -> dict[str, Any]:
    """One page of runs, newest first, and the total.

    Each row: the run's header (`run_row`), `label` (its name, or for an older unnamed eval run
    what it evaluated), its work-item counts (`items`, `done`, `failed`, `pairs`), `figures`
    (label → text, by kind: `run_figures`) and `headline` (them in one line: `headline`).
    """
    total, rows = runs_page(store, kind=kind, offset=offset, limit=limit)
    agreement = label_agreement(store, [r["run"].id for r in rows if r["run"].kind == "curate"])
    runs = []
    for r in rows:
        run, counts = r["run"], {k: r[k] for k in ("items", "done", "failed", "pairs")}
        figures = run_figures(run, counts, agreement.get(run.id))
        runs.append({**run_row(run), **counts, "label": run_label(run), "figures": figures,
                     "headline": headline(figures)})
    return {"total": total, "offset": offset, "limit": limit, "runs": runs}


def headline(figures: dict[str, str]) -> str:
    """A run's figures in one line: the value alone when there is one ("judge accuracy 0.83
    (length-only 0.90)"), else "label value" pairs; figures it does not have are left out."""
    shown = {k: v for k, v in figures.items() if v != NONE}
    if len(figures) == 1:
        return next(iter(shown.values()), "")
    return "; ".join(f"{k} {v}" for k, v in shown.items())


def run_label(run: Run) -> str | None:
    """The run's name; for an unnamed eval run (stored before eval runs had names), what it
    evaluated ("eval policy: sft, grpo"); None for any other unnamed run."""
    if run.name:
        return run.name
    return eval_run_name(run.config, run.metrics) if run.kind == "eval" else None


def columns_of(kind: str | None) -> tuple[str, ...] | None:
    """The figure columns of a runs list filtered to `kind` (None: one figures column)."""
    return COLUMNS.get(kind) if kind else None


def require_run(store: Store, run_id: int) -> Run:
    """The run with this id, which must exist (`store.reports.get_run` gives None instead).

    Raises:
        NotFound: no such run.
    """
    run = reports.get_run(store, run_id)
    if run is None:
        raise NotFound(no_run_message(store, run_id, cli=False))
    return run


def run_detail(store: Store, run_id: int) -> dict[str, Any]:
    """A run's header, config, metrics (training steps left out: see `curves`) and counts."""
    run = require_run(store, run_id)
    metrics = {k: v for k, v in (run.metrics or {}).items() if k != "steps"}
    calls, judgments = reports.run_row_counts(store, run_id)
    return {**run_row(run), "config": run.config or {}, "metrics": metrics,
            "steps": len((run.metrics or {}).get("steps") or []),
            "agent_calls": calls, "judgments": judgments,
            "call_stats": call_stats(store, run_id) if calls else [],
            "verdicts": verdict_stats(store, run_id) if run.kind == "curate" else None}


def curves(run: Run) -> dict[str, list[tuple[float, float]]]:
    """Training curves from `run.metrics["steps"]`: series name → [(step, value), ...].

    Only numeric series logged at two steps or more are kept (the final summary line TRL logs
    once, e.g. `train_loss`, is not a curve); `step` and `epoch` are the x axis, not series.
    """
    steps = (run.metrics or {}).get("steps") or []
    series: dict[str, list[tuple[float, float]]] = {}
    for entry in steps:
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), int | float):
            continue
        for key, value in entry.items():
            if key in ("step", "epoch") or isinstance(value, bool):
                continue
            if isinstance(value, int | float) and math.isfinite(value):
                series.setdefault(key, []).append((float(entry["step"]), float(value)))
    kept = {k: v for k, v in series.items() if len(v) >= 2}
    ranked = sorted(kept, key=lambda k: (CURVE_ORDER.index(k) if k in CURVE_ORDER
                                         else len(CURVE_ORDER), k))
    return {k: kept[k] for k in ranked}
