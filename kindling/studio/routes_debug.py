"""The debugger in the browser: start an item with breakpoints, see each stop, edit a state
field, continue or step, quit; fork a stored run at a checkpoint. The same engine as
`kindling graph step` and `kindling graph replay --fork-at` (kindling.debugger)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from kindling.studio.debug_sessions import DebugSessions, OpenSession, StartSpec
from kindling.studio.deps import graph_svg, page
from store.errors import NotFound

router = APIRouter()
GRAPHS = ("curate", "judge", "adversarial")


class StartIn(BaseModel):
    graph: str = Field(..., max_length=32)
    config: str | None = Field(None, max_length=1000)
    sets: list[str] = Field(default_factory=list, max_length=50)
    item: str | None = Field(None, max_length=128)
    query: str | None = Field(None, max_length=20_000)
    response: str | None = Field(None, max_length=20_000)
    break_before: list[str] = Field(default_factory=list, max_length=50)
    break_after: list[str] = Field(default_factory=list, max_length=50)
    name: str | None = Field(None, max_length=200)


class ForkIn(BaseModel):
    run_id: int
    item: str | None = Field(None, max_length=128)
    at: int = Field(..., ge=0)


class ActionIn(BaseModel):
    action: str = Field(..., max_length=16)
    field: str | None = Field(None, max_length=64)
    value: Any = None


def sessions_of(request: Request) -> DebugSessions:
    sessions: DebugSessions = request.app.state.debug
    return sessions


async def _guarded(call: Any) -> OpenSession:
    """Run a session call; input the graph cannot take is a 400 with the reason."""
    try:
        return await call
    except NotFound:
        raise
    except (ValueError, LookupError) as exc:  # UserError, ConfigError, StepError are ValueErrors
        raise HTTPException(400, str(exc)) from exc


@router.post("/api/debug/sessions", status_code=201)
async def api_start(request: Request, body: StartIn) -> dict[str, Any]:
    """Start one item as a new run, paused before its first node."""
    live = await _guarded(sessions_of(request).start(StartSpec(**body.model_dump())))
    return live.view()


@router.post("/api/debug/fork", status_code=201)
async def api_fork(request: Request, body: ForkIn) -> dict[str, Any]:
    """Fork a stored run's item at a checkpoint into a new run, paused there."""
    live = await _guarded(sessions_of(request).fork(body.run_id, body.item, body.at))
    return live.view()


@router.get("/api/debug/sessions/{session_id}")
def api_session(request: Request, session_id: str) -> dict[str, Any]:
    """Where an open session stands."""
    return sessions_of(request).get(session_id).view()


@router.post("/api/debug/sessions/{session_id}")
async def api_act(request: Request, session_id: str, body: ActionIn) -> dict[str, Any]:
    """continue | step | edit {field, value} | quit; the session as it stands after."""
    live = await _guarded(sessions_of(request).act(session_id, body.action, body.field,
                                                   body.value))
    return live.view()


@router.get("/debug")
def debug_page(request: Request) -> Response:
    """Start a stepped run: graph, config, item, breakpoints."""
    from graphs.registry import compile_graph
    from kindling.debugger.session import graph_nodes

    nodes = {name: graph_nodes(compile_graph(name, None)) for name in GRAPHS}
    return page(request, "debug_start.html", nodes=nodes, title="debug")


@router.get("/debug/{session_id}")
def session_page(request: Request, session_id: str) -> Response:
    """One open session: the stop, the graph, the state (editable), the calls since."""
    view = sessions_of(request).get(session_id).view()
    graph = graph_svg(view["graph"], frozenset(view["ran_all"]), frozenset(view["next"]))
    return page(request, "debug_session.html", s=view, graph=graph,
                title=f"debug run {view['run_id']}")
