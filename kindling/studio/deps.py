"""Shared pieces of the studio's routers: the store, templates, paging, graph drawings."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from kindling.store.db import Store
from kindling.store.run_items import ItemFilter

HERE = Path(__file__).parent
MAX_LIMIT = 200
"""Most rows one page of a list returns."""
MAX_ID = 2**63 - 1
"""The largest id (and offset) a store holds (SQL BIGINT); a larger number names nothing."""

RowId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="A stored row's id.")]
"""An id in a path: out of range it names nothing (the app answers 404)."""
QueryId = Annotated[int, Query(ge=1, le=MAX_ID)]
"""An id in a query string (422 out of range)."""

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.autoescape = True  # every template, whatever its file name


def _pretty(value: Any) -> str:
    """JSON for reading (indented, Chinese as is); the template escapes it."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


templates.env.filters["pretty"] = _pretty


def store_of(request: Request) -> Store:
    """The app's store (opened once by `create_app`)."""
    store: Store = request.app.state.store
    return store


class Page:
    """offset/limit query parameters, limit capped at `MAX_LIMIT` (422 beyond)."""

    def __init__(self, offset: int = Query(0, ge=0, le=MAX_ID),
                 limit: int = Query(50, ge=1, le=MAX_LIMIT)) -> None:
        self.offset, self.limit = offset, limit


class ItemQuery:
    """A run page's item filters (?verdict=&label=&agreement=&status=; empty: any)."""

    def __init__(self, verdict: str = Query("", pattern="^(|0|1|none)$"),
                 label: str = Query("", pattern="^(|0|1|none)$"),
                 agreement: str = Query("", pattern="^(|agree|disagree)$"),
                 status: str = Query("", pattern="^(|done|failed|pending|claimed)$")) -> None:
        self.raw = {"verdict": verdict, "label": label, "agreement": agreement, "status": status}

    def filter(self) -> ItemFilter:
        def code(text: str) -> int | None:
            return None if not text else (-1 if text == "none" else int(text))

        raw = self.raw
        return ItemFilter(verdict=code(raw["verdict"]), label=code(raw["label"]),
                          agreement=raw["agreement"] or None, status=raw["status"] or None)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """Render a template (autoescaped) with the request and `context`."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)


@lru_cache(maxsize=8)
def _view(name: str) -> Any:
    from kindling.graphs.render import graph_view

    return graph_view(name)


def graph_svg(name: str, lit: frozenset[str] = frozenset(),
              current: frozenset[str] = frozenset()) -> Markup:
    """The named graph as inline SVG (labels escaped by graphs.svg), `lit` nodes highlighted and
    the `current` ones (where a paused or unfinished item stands) outlined."""
    from kindling.graphs.svg import to_svg

    return Markup(to_svg(_view(name), f"{name} graph", lit, current))
