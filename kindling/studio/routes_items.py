"""A graph run's items: the paged list, one item (path, state changes, transcripts), graphs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kindling.graphs.registry import GRAPHS, graph_of_run
from kindling.studio import runs_data
from kindling.studio.deps import ItemQuery, Page, RowId, graph_svg, page, store_of
from kindling.studio.history_view import item_history, path_of
from kindling.studio.item_checks import item_warnings, label_view
from kindling.studio.items import final_state, item_detail, list_items, trace

router = APIRouter()


@router.get("/api/runs/{run_id}/items")
def api_items(request: Request, run_id: RowId, paging: Page = Depends(),
              where: ItemQuery = Depends()) -> dict[str, Any]:
    """One page of a run's items with their verdicts (a curate run's also with their labels,
    filtered by ?verdict=&label=&agreement=&status=): {total, offset, limit, items}."""
    store = store_of(request)
    return list_items(store, runs_data.require_run(store, run_id), offset=paging.offset,
                      limit=paging.limit, where=where.filter())


async def _item(request: Request, run_id: int, key: str) -> dict[str, Any]:
    store = store_of(request)
    run = await run_in_threadpool(runs_data.require_run, store, run_id)
    graph = graph_of_run(run.kind)
    history = await item_history(store, run, key) if graph else []
    detail = await run_in_threadpool(item_detail, store, run, key, final_state(history))
    path = path_of(history)
    # an item without checkpoints (adversarial, batch judge) lights the nodes that made its calls
    lit = path or detail["call_nodes"]
    # a paused (stepped and quit) or unfinished item stands before the last checkpoint's next nodes
    current = [n for n in history[-1]["next"] if n != "__start__"] if history else []
    return {"run": runs_data.run_row(run), "graph": graph, **detail, "history": history,
            "path": path, "lit": lit, "current": current, "label": label_view(detail["item"]),
            "warnings": item_warnings(detail["item"], detail["calls"], history,
                                      run.config or {}),
            "trace": trace(run.kind, detail["calls"])}


@router.get("/api/runs/{run_id}/items/{key}")
async def api_item(request: Request, run_id: RowId, key: str) -> dict[str, Any]:
    """One item: fields and verdict, agent transcripts, checkpoints (what each node changed),
    its path through the graph, the nodes to light and where it stands if unfinished."""
    return await _item(request, run_id, key)


@router.get("/runs/{run_id}/items/{key}")
async def item_page(request: Request, run_id: RowId, key: str) -> Response:
    """One item's page (works without scripts)."""
    item = await _item(request, run_id, key)
    graph = graph_svg(item["graph"], frozenset(item["lit"]),
                      frozenset(item["current"])) if item["graph"] else None
    return page(request, "item.html", item=item, graph=graph,
                title=f"run {run_id} · {item['heading']}")


@router.get("/api/graphs/{name}.svg")
def api_graph(name: str, lit: str = Query("", max_length=2000)) -> Response:
    """A graph as SVG; `lit` is a comma-separated list of nodes to highlight."""
    if name not in GRAPHS:
        raise HTTPException(404, f"graph {name!r} does not exist; known: {', '.join(GRAPHS)}")
    nodes = frozenset(n for n in lit.split(",") if n)
    return Response(str(graph_svg(name, nodes)), media_type="image/svg+xml")

