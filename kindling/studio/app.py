"""The studio's FastAPI application: routers, static files, error pages, request checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.responses import JSONResponse, Response

from kindling.store.db import Store
from kindling.store.principles import PrincipleNotFound
from kindling.studio import routes_debug, routes_items, routes_live, routes_principles, routes_runs
from kindling.studio.config_gate import ConfigGate
from kindling.studio.debug_sessions import DebugSessions, config_models
from kindling.studio.deps import HERE, page
from kindling.studio.runs_data import NotFound
from kindling.studio.security import LOOPBACK_NAMES, StudioGuard


def create_app(store_url: str | Store | None, token: str | None = None, *,
               allowed_hosts: Collection[str] | None = LOOPBACK_NAMES,
               project: Path | None = None, allow_endpoint_overrides: bool = False) -> FastAPI:
    """The studio app over one store.

    Args:
        store_url: The store (as `--db-url`; None: KINDLING_DB_URL or ./kindling.db), or the
            store itself, opened with `create=False`; it must exist: the studio never creates one
            (a wrong folder is an error, not an empty store).
        token: When set, every request needs it (Bearer header or the cookie `/?token=T` sets).
        allowed_hosts: Host names served (loopback names by default, against DNS rebinding);
            None serves any name (a non-loopback bind, where the token guards).
        project: The folder whose configs debug sessions may run (None: the working folder).
        allow_endpoint_overrides: Let a debug session's overrides change chat-model endpoints,
            to key variables the project's configs name only.
    """
    store = (store_url if isinstance(store_url, Store)
             else Store(store_url, create=False))  # a studio over a missing store makes none
    gate = ConfigGate(project or Path.cwd(), config_models(),
                      allow_endpoint_overrides=allow_endpoint_overrides)
    debug = DebugSessions(store, gate)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await debug.close_all()  # runs left paused are marked stopped, as the CLI's quit does

    app = FastAPI(title="kindling studio", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.store, app.state.debug, app.state.project = store, debug, gate.project
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (routes_runs, routes_items, routes_principles, routes_live, routes_debug):
        app.include_router(module.router)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(PrincipleNotFound, _not_found)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(StudioGuard, token=token, allowed_hosts=allowed_hosts)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _not_found(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return page(request, "error.html", message=str(exc), status_code=404, title="not found")


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A path naming nothing the store can hold (an id out of range, not a number) is a 404;
    other invalid input keeps FastAPI's 422."""
    assert isinstance(exc, RequestValidationError)
    in_path = [e for e in exc.errors() if e.get("loc", ("",))[0] == "path"]
    if not in_path:
        return await request_validation_exception_handler(request, exc)
    names = ", ".join(str(e["loc"][-1]) for e in in_path)
    return await _not_found(request, NotFound(f"{request.url.path}: no such {names}"))
