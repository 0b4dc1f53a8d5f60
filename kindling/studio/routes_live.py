"""A run as it goes (polled by the run page: counts, items in flight and where they stand,
new verdicts, the logged steps) and runs side by side (items compared, curves overlaid)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from markupsafe import Markup
from starlette.responses import Response

from kindling.store import run_compare
from kindling.store.errors import NotFound
from kindling.store.work import item_counts
from kindling.studio import runs_data
from kindling.studio.charts import line_chart
from kindling.studio.curve_plan import SIGNAL_NOTES, length_band, plan_charts, unit_of
from kindling.studio.deps import MAX_ID, Page, QueryId, RowId, page, store_of
from kindling.studio.history_view import item_history

router = APIRouter()
MAX_OVERLAY = 6
"""Most runs one overlay chart draws."""


@router.get("/api/runs/{run_id}/live")
async def api_live(request: Request, run_id: RowId) -> dict[str, Any]:
    """What a run is doing now: status, item counts, the items in flight with the node each
    stands before, the newest verdicts, how many training steps are logged and the last one."""
    store = store_of(request)
    run = runs_data.get_run(store, run_id)
    steps = (run.metrics or {}).get("steps") or []
    flying = []
    for key in run_compare.items_in_flight(store, run_id):
        history = await item_history(store, run, key)
        flying.append({"key": key, "before": history[-1]["next"] if history else []})
    return {"id": run_id, "status": run.status, "items": item_counts(store, run_id),
            "in_flight": flying, "verdicts": run_compare.latest_verdicts(store, run_id),
            "steps": len(steps), "last_step": steps[-1] if steps else None}


@router.get("/runs/{run_id}/charts")
def charts_fragment(request: Request, run_id: RowId) -> Response:
    """The run's training charts as an HTML fragment (the run page swaps it in while live)."""
    run = runs_data.get_run(store_of(request), run_id)
    return page(request, "_charts.html", charts=run_charts(run))


def run_charts(run: Any) -> dict[str, Any]:
    """The run's charts: the few that matter first, the rest folded, constants as a list."""
    curves = runs_data.curves(run)
    plan = plan_charts(curves)
    band = length_band(run.metrics or {})

    def chart(name: str) -> Markup:
        unit = unit_of(name)
        return Markup(line_chart(name, {name: curves[name]}, unit=unit,
                                 band=band if unit == "characters" else None))

    metrics = run.metrics or {}
    watch = metrics.get("watch") if isinstance(metrics.get("watch"), dict) else {}
    return {"primary": [chart(n) for n in plan.primary], "folded": [chart(n) for n in plan.folded],
            "signals": [(chart(n), SIGNAL_NOTES.get(n, "")) for n in plan.signals],
            "alerts": [a for a in metrics.get("watch_alerts", []) if isinstance(a, dict)],
            "rules": watch.get("rules", []), "reference": watch.get("reference") or {},
            "constant": plan.constant, "duplicates": plan.duplicates}


@router.get("/compare")
def compare_page(request: Request, a: QueryId | None = None, b: QueryId | None = None,
                 runs: list[str] = Query([], max_length=MAX_OVERLAY),
                 series: str = Query("", max_length=100),
                 changed: bool = Query(False), paging: Page = Depends()) -> Response:
    """Two curate runs item by item (?a=&b=), or training runs' curves overlaid (?runs=1,2 or
    ?runs=1&runs=2)."""
    store = store_of(request)
    picked = [int(x) for part in runs for x in part.split(",")
              if x.strip().isdigit() and int(x) <= MAX_ID]  # a larger number names no run
    picked = list(dict.fromkeys(picked))[:MAX_OVERLAY]
    overlay = _overlay(store, picked, series) if picked else None
    items = None
    if a is not None and b is not None:
        for run_id in (a, b):
            if runs_data.get_run(store, run_id).kind != "curate":
                raise NotFound(f"run {run_id} is not a curate run: items compare curate runs")
        items = run_compare.compare_runs(store, a, b, changed_only=changed, offset=paging.offset,
                                         limit=paging.limit)
    listing = runs_data.list_runs(store, kind=None, offset=0, limit=100)["runs"]
    names = {r["id"]: f"run {r['id']}" + (f" · {r['name']}" if r["name"] else "")
             for r in listing}
    return page(request, "compare.html", a=a, b=b, items=items, overlay=overlay, picked=picked,
                changed=changed, series=series, runs=listing, names=names, title="compare")


def _overlay(store: Any, run_ids: list[int], wanted: str) -> dict[str, Any]:
    """One chart per series the runs share (or the named one), one line per run."""
    per_run = {}
    for run_id in run_ids:
        run = runs_data.get_run(store, run_id)
        per_run[f"run {run_id}" + (f" · {run.name}" if run.name else "")] = runs_data.curves(run)
    plan = plan_charts(next(iter(per_run.values())))
    shared = [n for n in plan.primary + plan.signals if all(n in c for c in per_run.values())]
    names = [wanted] if wanted else shared
    charts = [Markup(line_chart(name, {label: c[name] for label, c in per_run.items()
                                       if name in c}, unit=unit_of(name))) for name in names]
    return {"charts": charts, "series": shared}
