"""A run as it goes (polled by the run page: counts, items in flight and where they stand,
new verdicts, the logged steps, the charts redrawn)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from kindling.store import run_compare
from kindling.store.run_liveness import shown_status
from kindling.store.work import item_counts
from kindling.studio import runs_data
from kindling.studio.charts import run_charts
from kindling.studio.deps import RowId, page, store_of
from kindling.studio.history_view import item_history

router = APIRouter()


@router.get("/api/runs/{run_id}/live")
async def api_live(request: Request, run_id: RowId) -> dict[str, Any]:
    """What a run is doing now: status, item counts, the items in flight with the node each
    stands before, the newest verdicts, how many training steps are logged and the last one."""
    store = store_of(request)
    run = runs_data.require_run(store, run_id)
    steps = (run.metrics or {}).get("steps") or []
    flying = []
    for key in run_compare.items_in_flight(store, run_id):
        history = await item_history(store, run, key)
        flying.append({"key": key, "before": history[-1]["next"] if history else []})
    return {"id": run_id, "status": shown_status(run), "items": item_counts(store, run_id),
            "in_flight": flying, "verdicts": run_compare.latest_verdicts(store, run_id),
            "steps": len(steps), "last_step": steps[-1] if steps else None}


@router.get("/runs/{run_id}/charts")
def charts_fragment(request: Request, run_id: RowId) -> Response:
    """The run's training charts as an HTML fragment (the run page swaps it in while live)."""
    run = runs_data.require_run(store_of(request), run_id)
    return page(request, "_charts.html", charts=run_charts(run))
