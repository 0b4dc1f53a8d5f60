"""Runs: the list, one run (status, counts, metrics, training curves, eval tables), and runs
side by side (two curate runs item by item, training runs' curves overlaid)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kindling.store import run_compare
from kindling.store.errors import NotFound
from kindling.store.models import RUN_KINDS
from kindling.store.run_summary import run_summary
from kindling.store.work import item_counts
from kindling.studio import runs_data
from kindling.studio.charts import MAX_OVERLAY, overlay_charts, run_charts
from kindling.studio.costs_view import cost_view
from kindling.studio.deps import MAX_ID, ItemQuery, Page, QueryId, RowId, graph_svg, page, store_of
from kindling.studio.eval_view import eval_tables
from kindling.studio.grpo_view import grpo_view
from kindling.studio.items import list_items

router = APIRouter()
OVERLAID = ("sft", "rm", "grpo")
"""Kinds of run whose training curves can be overlaid."""
MAX_PICKED = 100
"""Most run ids one overlay request may carry (the first MAX_OVERLAY are drawn)."""


@router.get("/api/runs")
def api_runs(request: Request, kind: str | None = Query(None, max_length=32),
             paging: Page = Depends()) -> dict[str, Any]:
    """Runs, newest first, one page at a time: {total, offset, limit, runs}."""
    return runs_data.list_runs(store_of(request), kind=kind, offset=paging.offset,
                               limit=paging.limit)


@router.get("/api/runs/{run_id}")
def api_run(request: Request, run_id: RowId) -> dict[str, Any]:
    """One run: header, config, metrics (without the training steps), counts, call stats."""
    return runs_data.run_detail(store_of(request), run_id)


@router.get("/api/runs/{run_id}/curves")
def api_curves(request: Request, run_id: RowId) -> dict[str, Any]:
    """A training run's curves: {series name: [[step, value], ...]}."""
    run = runs_data.require_run(store_of(request), run_id)
    return {"run_id": run_id, "curves": runs_data.curves(run)}


@router.get("/api/runs/{run_id}/eval")
def api_eval(request: Request, run_id: RowId) -> dict[str, Any]:
    """An eval run's tables (each figure beside the length-only baseline)."""
    run = runs_data.require_run(store_of(request), run_id)
    return {"run_id": run_id, "source": (run.config or {}).get("source"),
            "tables": eval_tables(run)}


@router.get("/")
def runs_page(request: Request, kind: str | None = Query(None, max_length=32),
              paging: Page = Depends()) -> Response:
    """The runs page."""
    listing = runs_data.list_runs(store_of(request), kind=kind or None, offset=paging.offset,
                                  limit=paging.limit)
    return page(request, "runs.html", listing=listing, kind=kind or "", kinds=RUN_KINDS,
                columns=runs_data.columns_of(kind or None), overlaid=OVERLAID, title="runs")


@router.get("/eval")
def eval_page(request: Request, paging: Page = Depends()) -> Response:
    """Evaluation runs, each as its tables."""
    store = store_of(request)
    listing = runs_data.list_runs(store, kind="eval", offset=paging.offset, limit=paging.limit)
    runs = [(row, eval_tables(runs_data.require_run(store, row["id"]))) for row in listing["runs"]]
    return page(request, "eval.html", listing=listing, runs=runs, title="evaluations")


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: RowId, paging: Page = Depends(),
             where: ItemQuery = Depends(),
             step: int | None = Query(None, ge=0, le=MAX_ID)) -> Response:
    """One run: summary, curves or tables, and for a graph run the graph and (filtered) items;
    a GRPO run opens with its verdict and shows one logged step's samples (?step=)."""
    store = store_of(request)
    detail = runs_data.run_detail(store, run_id)
    run = runs_data.require_run(store, run_id)
    graph = detail["graph"]
    items = (list_items(store, run, offset=paging.offset, limit=paging.limit,
                        where=where.filter())
             if graph or detail["agent_calls"] else None)
    counts = item_counts(store, run_id) if run.kind == "curate" else None
    query = urlencode({k: v for k, v in where.raw.items() if v})
    cost = cost_view(store, run, getattr(request.app.state, "project", Path.cwd()))
    return page(request, "run.html", run=detail, charts=run_charts(run), tables=eval_tables(run),
                cost=cost, grpo=grpo_view(store, run, step),
                graph=graph_svg(graph) if graph else None, items=items,
                summary=run_summary(run, counts), filters=where.raw,
                filter_query=query + "&" if query else "", title=f"run {run_id}")


def picked_ids(runs: list[str]) -> list[int]:
    """The run ids a ?runs= list names (comma-separated or repeated), first MAX_PICKED of each,
    in order, once each: ASCII digits only, a larger number than any id names no run."""
    ids = (x.strip() for part in runs for x in part.split(",")[:MAX_PICKED])
    picked = [int(x) for x in ids if x.isascii() and x.isdigit() and len(x) <= 19
              and int(x) <= MAX_ID]
    return list(dict.fromkeys(picked))


@router.get("/compare")
def compare_page(request: Request, a: QueryId | None = None, b: QueryId | None = None,
                 runs: list[str] = Query([], max_length=MAX_PICKED),
                 series: str = Query("", max_length=100),
                 changed: bool = Query(False), paging: Page = Depends()) -> Response:
    """Two curate runs item by item (?a=&b=), or training runs' curves overlaid (?runs=1,2 or
    ?runs=1&runs=2, as the runs list's checkboxes send them)."""
    store = store_of(request)
    picked = picked_ids(runs)
    overlay = overlay_charts(store, picked, series) if picked else None
    items = None
    if a is not None and b is not None:
        for run_id in (a, b):
            if runs_data.require_run(store, run_id).kind != "curate":
                raise NotFound(f"run {run_id} is not a curate run: items compare curate runs")
        items = run_compare.compare_runs(store, a, b, changed_only=changed, offset=paging.offset,
                                         limit=paging.limit)
    listing = runs_data.list_runs(store, kind=None, offset=0, limit=100)["runs"]
    names = {r["id"]: f"run {r['id']}" + (f" · {r['name']}" if r["name"] else "")
             for r in listing}
    return page(request, "compare.html", a=a, b=b, items=items, overlay=overlay, picked=picked,
                dropped=picked[MAX_OVERLAY:], changed=changed, series=series, runs=listing,
                names=names, overlaid=OVERLAID, title="compare")
