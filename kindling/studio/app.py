"""The studio's FastAPI application: routers, static files, error pages, request checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import JSONResponse, Response

from kindling.studio import routes_debug, routes_items, routes_live, routes_principles, routes_runs
from kindling.studio.debug_sessions import DebugSessions
from kindling.studio.deps import HERE, page
from kindling.studio.runs_data import NotFound
from kindling.studio.security import LOOPBACK_NAMES, StudioGuard
from store.db import Store
from store.principles import PrincipleNotFound


def create_app(store_url: str | None, token: str | None = None, *,
               allowed_hosts: Collection[str] | None = LOOPBACK_NAMES) -> FastAPI:
    """The studio app over one store.

    Args:
        store_url: The store (as `--db-url`; None: KINDLING_DB_URL or ./kindling.db).
        token: When set, every request needs it (Bearer header or the cookie `/?token=T` sets).
        allowed_hosts: Host names served (loopback names by default, against DNS rebinding);
            None serves any name (a non-loopback bind, where the token guards).
    """
    store = Store(store_url)
    debug = DebugSessions(store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await debug.close_all()  # runs left paused are marked stopped, as the CLI's quit does

    app = FastAPI(title="kindling studio", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.store, app.state.debug = store, debug
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (routes_runs, routes_items, routes_principles, routes_live, routes_debug):
        app.include_router(module.router)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(PrincipleNotFound, _not_found)
    app.add_middleware(StudioGuard, token=token, allowed_hosts=allowed_hosts)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _not_found(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return page(request, "error.html", message=str(exc), status_code=404, title="not found")
