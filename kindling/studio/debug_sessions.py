"""Stepping sessions the studio holds open: the engine of `kindling graph step` and of a fork
(`kindling graph replay --fork-at`), driven from the browser.

Each session is a `StepSession` over a new stored run, with its checkpointer kept open between
requests; one request at a time per session (a lock), and every session is closed when the app
stops. The runs, checkpoints and agent calls land in the store as the CLI's do.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from kindling.debugger.session import StepError, StepSession, Stop
from kindling.debugger.targets import GraphTarget
from kindling.store import work
from kindling.store.db import Store
from kindling.store.errors import NotFound, UserError
from kindling.studio.config_gate import ConfigGate

ACTIONS = ("continue", "step", "edit", "quit")
MAX_SESSIONS = 8
"""Open sessions one studio holds; starting another closes the oldest (its run stays stored)."""
KEPT_ENDED = 32
"""Ended sessions whose last stop can still be viewed."""


@dataclass
class StartSpec:
    """What `kindling graph step` takes: the graph, a project config (by its listed name; None:
    the defaults) and overrides, the item."""

    graph: str
    config: str | None = None
    sets: list[str] = field(default_factory=list)
    item: str | None = None
    query: str | None = None
    response: str | None = None
    break_before: list[str] = field(default_factory=list)
    break_after: list[str] = field(default_factory=list)
    name: str | None = None


@dataclass
class OpenSession:
    """A session and the last place it stopped."""

    id: str
    graph: str
    session: StepSession
    target: GraphTarget
    stack: AsyncExitStack
    stop: Stop
    ran: list[str] = field(default_factory=list)  # every node run in this session, in order
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ended: bool = False

    def view(self) -> dict[str, Any]:
        """JSON-safe: where it stands, what ran, the state, what changed, the latest calls."""
        stop = self.stop
        return {"id": self.id, "graph": self.graph, "run_id": self.target.run_id,
                "item_key": self.target.item_key, "ended": self.ended,
                "reason": stop.reason if not self.ended or stop.finished else "quit",
                "ran": stop.ran,
                "ran_all": self.ran, "next": stop.next, "finished": stop.finished,
                "state": stop.state, "changed": stop.changed, "calls": stop.calls,
                "break_before": self.session.break_before,
                "break_after": self.session.break_after}


class DebugSessions:
    """The studio's open stepping sessions, by id."""

    def __init__(self, store: Store, configs: ConfigGate) -> None:
        self.store, self.configs = store, configs
        self._open: dict[str, OpenSession] = {}
        self._ended: dict[str, OpenSession] = {}

    def get(self, session_id: str) -> OpenSession:
        """The session, open or ended. Raises NotFound when the studio does not hold it."""
        found = self._open.get(session_id) or self._ended.get(session_id)
        if found is None:
            raise NotFound(f"no open debug session {session_id!r} (sessions end when the run "
                           "ends, on quit, or when the studio restarts)")
        return found

    async def start(self, spec: StartSpec) -> OpenSession:
        """A new run of one item, paused before its first node (as `kindling graph step`), with a
        project config and overrides the studio's `ConfigGate` accepts."""
        check_graph(spec.graph, [*spec.break_before, *spec.break_after])
        cfg = await asyncio.to_thread(self.configs.config_for, spec.graph, spec.config or None,
                                      spec.sets)
        target = await asyncio.to_thread(step_target, self.store, spec, cfg)
        if spec.name:
            work.rename_run(self.store, target.run_id, spec.name)
        return await self._open_session(target, spec.break_before, spec.break_after,
                                        copy_from=None)

    async def fork(self, run_id: int, item: str | None, at: int) -> OpenSession:
        """A new run from checkpoint `at` (0-based, as the item page lists them) of a stored
        run's item, paused there: edit the state, then continue (as `graph replay --fork-at`)."""
        from kindling.debugger.history import load_history
        from kindling.debugger.targets import fork_target

        steps = await load_history(self.store, run_id, item)
        if not 0 <= at < len(steps):
            raise UserError(f"run {run_id} item {item!r} has {len(steps)} checkpoints; "
                            f"{at} is not one of them")
        if not steps[at].next:
            raise UserError("that checkpoint is where the run ended: fork from an earlier one")
        target = await asyncio.to_thread(fork_target, self.store, run_id, item,
                                         steps[at].checkpoint_id)
        return await self._open_session(target, [], [], copy_from=steps[at])

    async def act(self, session_id: str, action: str, name: str | None = None,
                  value: Any = None) -> OpenSession:
        """continue, step, edit (a state field to a value) or quit; returns the session as it
        stands after (a finished or quit session is closed; its run stays stored)."""
        if action not in ACTIONS:
            raise UserError(f"unknown action {action!r}: {', '.join(ACTIONS)}")
        live = self.get(session_id)
        if live.ended:
            raise UserError(f"debug session {session_id} has ended: open its run, or fork it")
        async with live.lock:
            if action == "quit":
                await self.close(session_id, stopped=True)
                return live
            if action == "edit":
                if not name:
                    raise UserError("edit needs the name of a state field")
                live.stop = await live.session.edit(name, value)
            else:
                live.stop = await live.session.advance(step=action == "step")
                live.ran += live.stop.ran
            if live.stop.finished:
                await self.close(session_id)
        return live

    async def close(self, session_id: str, *, stopped: bool = False) -> None:
        """Close one session (a run left unfinished is marked stopped, as the CLI's quit does)."""
        live = self._open.pop(session_id, None)
        if live is None:
            return
        live.ended = True
        self._ended[session_id] = live
        while len(self._ended) > KEPT_ENDED:
            self._ended.pop(next(iter(self._ended)))
        try:
            live.target.calls.flush()
            await live.target.close()
        finally:
            await live.stack.aclose()
        if stopped and not live.stop.finished:
            work.finish_run(self.store, live.target.run_id, "stopped",
                            {"stopped_before": live.stop.next})

    async def close_all(self) -> None:
        for session_id in list(self._open):
            await self.close(session_id, stopped=True)

    async def _open_session(self, target: GraphTarget, before: list[str], after: list[str], *,
                            copy_from: Any) -> OpenSession:
        from kindling.checkpoints import open_checkpointer
        from kindling.debugger.replay import copy_checkpoint
        from kindling.graphs.registry import compile_graph

        stack = AsyncExitStack()
        try:
            saver = await stack.enter_async_context(open_checkpointer(self.store.url))
            session = StepSession(compile_graph(target.graph, saver), target,
                                  break_before=before, break_after=after)
            if copy_from is None:
                stop = await session.begin()
            else:
                writers = ["__start__" if n == "(input)" else n for n in copy_from.ran
                           if n != "(edit)"]
                await copy_checkpoint(saver, copy_from.config, target.thread_id, writers)
                stop = await session.resume()
        except BaseException:
            await target.close()
            await stack.aclose()
            raise
        while len(self._open) >= MAX_SESSIONS:
            await self.close(next(iter(self._open)), stopped=True)
        live = OpenSession(secrets.token_urlsafe(8), target.graph, session, target, stack, stop)
        self._open[live.id] = live
        return live


def check_graph(name: str, breakpoints: list[str]) -> None:
    """Raise StepError for an unknown graph or a breakpoint naming none of its nodes."""
    from kindling.debugger.session import check_breakpoints
    from kindling.graphs.registry import compile_graph

    if name not in ("curate", "adversarial", "judge"):
        raise StepError(f"unknown graph {name!r}: curate, adversarial or judge")
    check_breakpoints(compile_graph(name, None), name, breakpoints)


def config_models() -> dict[str, type[Any]]:
    """Each steppable graph's run config model."""
    from kindling.agents.adversarial.config import AdversarialConfig
    from kindling.agents.curate.config import CurateConfig
    from kindling.agents.judge.config import JudgeConfig

    return {"curate": CurateConfig, "adversarial": AdversarialConfig, "judge": JudgeConfig}


def step_target(store: Store, spec: StartSpec, cfg: Any) -> GraphTarget:
    """The target of a browser-started step: `spec`'s graph and item, with the validated `cfg`.

    Raises:
        ValueError: a judge step without a query and a response.
        LookupError: an item key not in the curate selection.
    """
    from kindling.debugger.targets import adversarial_target, curate_target, judge_target

    if spec.graph == "curate":
        return curate_target(store, cfg, spec.item or None)
    if spec.graph == "adversarial":
        return adversarial_target(store, cfg)
    if not spec.query or not spec.response:
        raise ValueError("stepping the judge graph needs a query and a response")
    return judge_target(store, cfg, spec.query, spec.response)
