"""The debugger in the browser: start an item with breakpoints, see each stop, edit a state
field, continue or step, quit; fork a stored run at a checkpoint. The same engine as
`kindling graph step` and `kindling graph replay --fork-at` (kindling.debugger).

Actions return at once and run in the background (debug_worker.py); GET a session (with
`?wait=S` to wait up to S seconds for its action to end) to see what runs and where it stopped.
A second action while one runs is answered 409."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from kindling.store.errors import NotFound
from kindling.studio.config_gate import ConfigGate
from kindling.studio.debug_live import OpenSession
from kindling.studio.debug_sessions import DebugSessions, StartSpec
from kindling.studio.debug_worker import Busy
from kindling.studio.deps import MAX_ID, graph_svg, page
from kindling.studio.project_configs import Listing

router = APIRouter()
GRAPHS = ("curate", "judge", "adversarial")
MAX_SET_CHARS = 2000
"""Longest override (`key=value`) one debug session takes."""
MAX_WAIT_S = 30.0
"""Longest a GET of a session waits for its action to end (`?wait=`)."""


class StartIn(BaseModel):
    graph: str = Field(..., max_length=32)
    config: str | None = Field(None, max_length=1000, description="A name GET "
                               "/api/debug/configs lists for the graph; None: the defaults.")
    sets: list[Annotated[str, Field(max_length=MAX_SET_CHARS)]] = Field(default_factory=list,
                                                                         max_length=50)
    item: str | None = Field(None, max_length=128)
    query: str | None = Field(None, max_length=20_000)
    response: str | None = Field(None, max_length=20_000)
    break_before: list[str] = Field(default_factory=list, max_length=50)
    break_after: list[str] = Field(default_factory=list, max_length=50)
    name: str | None = Field(None, max_length=200)


class ForkIn(BaseModel):
    run_id: int = Field(..., ge=1, le=MAX_ID)
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
    """Run a session call; input the graph cannot take is a 400 with the reason, an action
    while another runs a 409."""
    try:
        return await call
    except NotFound:
        raise
    except Busy as exc:
        raise HTTPException(409, str(exc)) from exc
    except (ValueError, LookupError) as exc:  # UserError, ConfigError, StepError are ValueErrors
        raise HTTPException(400, str(exc)) from exc


def project_configs(gate: ConfigGate, listing: Listing) -> dict[str, Any]:
    """The project folder, the configs found there for each graph, and the YAML files that fit
    none (names and a reason only, never their content)."""
    out: dict[str, Any] = {
        "project": str(listing.project), "truncated": listing.truncated,
        "configs": {g: listing.for_graph(g) for g in GRAPHS},
        "unusable": [{"name": c.name, "problem": c.problem} for c in listing.unusable()],
        "allow_endpoint_overrides": gate.allow_endpoint_overrides}
    if gate.allow_endpoint_overrides:
        out["key_variables"] = sorted(gate.key_variables(listing))
    return out


@router.get("/api/debug/configs")
def api_configs(request: Request) -> dict[str, Any]:
    """The configs a debug session can start from: their names, by graph, in the project."""
    gate = sessions_of(request).configs
    return project_configs(gate, gate.listing())


@router.post("/api/debug/sessions", status_code=201)
async def api_start(request: Request, body: StartIn) -> dict[str, Any]:
    """Start one item as a new run, to pause before its first node (the session is busy until
    it has: building the run and its models, a local server included, runs in the background)."""
    live = await _guarded(sessions_of(request).start(StartSpec(**body.model_dump())))
    return live.view()


@router.post("/api/debug/fork", status_code=201)
async def api_fork(request: Request, body: ForkIn) -> dict[str, Any]:
    """Fork a stored run's item at a checkpoint into a new run, to pause there (busy until
    it has)."""
    live = await _guarded(sessions_of(request).fork(body.run_id, body.item, body.at))
    return live.view()


@router.get("/api/debug/sessions/{session_id}")
async def api_session(request: Request, session_id: str,
                      wait: float = Query(0, ge=0, le=MAX_WAIT_S)) -> dict[str, Any]:
    """Where a session stands and what it runs now; with `wait`, once its action has ended (or
    after that many seconds)."""
    return (await sessions_of(request).wait(session_id, wait)).view()


@router.post("/api/debug/sessions/{session_id}")
async def api_act(request: Request, session_id: str, body: ActionIn,
                  response: Response) -> dict[str, Any]:
    """continue | step | edit {field, value}: 202, running in the background; quit (stops a
    running action): 200, the session ended."""
    live = await _guarded(sessions_of(request).act(session_id, body.action, body.field,
                                                   body.value))
    view = live.view()
    if view["busy"]:
        response.status_code = 202
    return view


@router.get("/debug")
def debug_page(request: Request) -> Response:
    """Start a stepped run: graph, project config, item, breakpoints."""
    from kindling.debugger.session import graph_nodes
    from kindling.graphs.registry import compile_graph

    nodes = {name: graph_nodes(compile_graph(name, None)) for name in GRAPHS}
    gate = sessions_of(request).configs
    listing = gate.listing()
    choices = [(c.name, " ".join(c.graphs), str(gate.config_file(c.name)))
               for c in listing.configs if c.graphs]
    return page(request, "debug_start.html", nodes=nodes, found=project_configs(gate, listing),
                choices=choices, title="debug")


@router.get("/debug/{session_id}")
def session_page(request: Request, session_id: str) -> Response:
    """One open session: the stop, the graph, the state (editable), the calls since."""
    view = sessions_of(request).get(session_id).view()
    graph = graph_svg(view["graph"], frozenset(view["ran_all"]), frozenset(view["next"]))
    title = f"debug run {view['run_id']}" if view["run_id"] else "debug: starting"
    return page(request, "debug_session.html", s=view, graph=graph, title=title)
