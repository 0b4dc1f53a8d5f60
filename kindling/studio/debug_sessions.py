"""Stepping sessions the studio holds open: the engine of `kindling graph step` and of a fork
(`kindling graph replay --fork-at`), driven from the browser.

Each session is a `StepSession` over a new stored run, with its checkpointer kept open between
requests. Its actions (start, fork, continue, step, edit) run in the background, one at a time
(debug_worker.py): the request returns at once and the page polls the session's view. Every
session is closed when the app stops. The runs, checkpoints and agent calls land in the store as
the CLI's do.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from kindling.debugger.history import CheckpointStep
from kindling.debugger.session import StepError, StepSession, mark_left
from kindling.debugger.targets import GraphTarget, built_in_thread
from kindling.store import work
from kindling.store.db import Store
from kindling.store.errors import NotFound, UserError
from kindling.store.reports import get_run
from kindling.studio.config_gate import ConfigGate
from kindling.studio.debug_checks import stop_warnings
from kindling.studio.debug_live import ConfigUsed, OpenSession
from kindling.studio.debug_worker import Busy, describe

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


class DebugSessions:
    """The studio's debug sessions, by id: at most MAX_SESSIONS open, KEPT_ENDED ended."""

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
        """A new run of one item, to pause before its first node (as `kindling graph step`),
        with a project config and overrides the studio's `ConfigGate` accepts. What can be
        checked at once is (a ValueError); building the run and its models goes on in the
        background.

        Raises:
            Busy: every open session is running an action (none can make room).
        """
        check_graph(spec.graph, [*spec.break_before, *spec.break_after])
        if spec.graph == "judge" and not (spec.query and spec.response):
            raise ValueError("stepping the judge graph needs a query and a response")
        cfg = await asyncio.to_thread(self.configs.config_for, spec.graph, spec.config or None,
                                      spec.sets)
        used = ConfigUsed(spec.config or None,
                          str(self.configs.config_file(spec.config)) if spec.config else None,
                          str(self.configs.project), list(spec.sets))
        live = await self._new(spec.graph, used, spec.break_before, spec.break_after)
        live.runner.launch("start", lambda: self._start(live, spec, cfg))
        return live

    async def fork(self, run_id: int, item: str | None, at: int) -> OpenSession:
        """A new run from checkpoint `at` (0-based, as the item page lists them) of a stored
        run's item, to pause there: edit the state, then continue (as `graph replay
        --fork-at`). The checkpoint is checked at once; the run is built in the background."""
        from kindling.debugger.history import load_history
        from kindling.graphs.registry import require_graph_of_run

        steps = await load_history(self.store, run_id, item)
        if not 0 <= at < len(steps):
            raise UserError(f"run {run_id} item {item!r} has {len(steps)} checkpoints; "
                            f"{at} is not one of them")
        if not steps[at].next:
            raise UserError("that checkpoint is where the run ended: fork from an earlier one")
        run = get_run(self.store, run_id)
        assert run is not None  # load_history found it
        used = ConfigUsed(None, None, str(self.configs.project), forked_from=run_id)
        live = await self._new(require_graph_of_run(run.kind), used, [], [])
        live.runner.launch("fork", lambda: self._fork(live, run_id, item, steps[at]))
        return live

    async def act(self, session_id: str, action: str, name: str | None = None,
                  value: Any = None) -> OpenSession:
        """continue, step, edit (a state field to a value): started in the background; quit:
        stops a running continue, step or edit, and closes the session (its run stays stored).

        Raises:
            Busy: another action of the session runs (quit: the session is still starting).
        """
        if action not in ACTIONS:
            raise UserError(f"unknown action {action!r}: {', '.join(ACTIONS)}")
        live = self.get(session_id)
        if live.ended:
            raise UserError(f"debug session {session_id} has ended: open its run, or fork it")
        if action == "quit":
            if live.runner.running_action in ("start", "fork"):
                raise Busy("this session is still starting: quit once it has paused")
            await self.close(session_id, stopped=True)
            return live
        if action == "edit" and not name:
            raise UserError("edit needs the name of a state field")
        live.runner.launch(action, lambda: self._act(live, action, name, value))
        return live

    async def wait(self, session_id: str, timeout: float) -> OpenSession:
        """The session once its running action has ended, or after `timeout` seconds."""
        live = self.get(session_id)
        await live.runner.settled(timeout)
        return live

    async def close(self, session_id: str, *, stopped: bool = False) -> None:
        """Close one session, stopping its running action (a run left unfinished is marked
        stopped, as the CLI's quit does)."""
        live = self._open.pop(session_id, None)
        if live is None:
            return
        if not live.runner.in_worker():
            await live.runner.cancel()
        self._retire(live)
        if live.target is None or live.stack is None:
            return  # never started: the start cleaned up after itself
        try:
            live.target.calls.flush()
            await live.target.close()
        finally:
            await live.stack.aclose()
        if stopped:
            mark_left(self.store, live.target.run_id, live.stop)

    async def close_all(self) -> None:
        for session_id in list(self._open):
            await self.close(session_id, stopped=True)

    async def _new(self, graph: str, used: ConfigUsed, before: list[str],
                   after: list[str]) -> OpenSession:
        """A new open session, after closing the oldest idle one when MAX_SESSIONS are open."""
        while len(self._open) >= MAX_SESSIONS:
            idle = next((s for s in self._open.values() if not s.runner.busy), None)
            if idle is None:
                raise Busy(f"{MAX_SESSIONS} debug sessions are running actions: quit one, or "
                           "wait for one to pause")
            await self.close(idle.id, stopped=True)
        live = OpenSession(secrets.token_urlsafe(8), graph, used, list(before), list(after))
        self._open[live.id] = live
        return live

    def _retire(self, live: OpenSession) -> None:
        """Move a session among the ended ones (the oldest ended are forgotten)."""
        self._open.pop(live.id, None)
        live.ended = True
        self._ended[live.id] = live
        while len(self._ended) > KEPT_ENDED:
            self._ended.pop(next(iter(self._ended)))

    async def _start(self, live: OpenSession, spec: StartSpec, cfg: Any) -> None:
        try:
            target = await built_in_thread(self.store, lambda: step_target(self.store, spec, cfg))
            await self._open_session(live, target, copy_from=None, name=spec.name)
        except BaseException:
            self._retire(live)
            raise

    async def _fork(self, live: OpenSession, run_id: int, item: str | None,
                    step: CheckpointStep) -> None:
        from kindling.debugger.targets import fork_target

        try:
            target = await built_in_thread(self.store, lambda: fork_target(
                self.store, run_id, item, step.checkpoint_id))
            await self._open_session(live, target, copy_from=step)
        except BaseException:
            self._retire(live)
            raise

    async def _act(self, live: OpenSession, action: str, name: str | None, value: Any) -> None:
        assert live.session is not None  # a started session: its start action has ended
        if action == "edit":
            stop = await live.session.edit(name or "", value)
        else:
            stop = await live.session.advance(step=action == "step")
        live.reached(stop)
        await self._warn(live)
        if stop.finished:
            await self.close(live.id)

    async def _warn(self, live: OpenSession) -> None:
        assert live.session is not None and live.stop is not None
        live.warnings = await stop_warnings(live.session, live.stop.state, live.calls,
                                            live.run_config)

    async def _open_session(self, live: OpenSession, target: GraphTarget, *,
                            copy_from: CheckpointStep | None, name: str | None = None) -> None:
        from kindling.checkpoints import open_checkpointer
        from kindling.debugger.replay import copy_checkpoint
        from kindling.graphs.registry import compile_graph

        stack = AsyncExitStack()
        try:
            if name:
                work.rename_run(self.store, target.run_id, name)
            saver = await stack.enter_async_context(open_checkpointer(self.store.url))
            session = StepSession(compile_graph(target.graph, saver), target,
                                  break_before=live.break_before, break_after=live.break_after)
            if copy_from is None:
                stop = await session.begin()
            else:
                writers = ["__start__" if n == "(input)" else n for n in copy_from.ran
                           if n != "(edit)"]
                await copy_checkpoint(saver, copy_from.config, target.thread_id, writers)
                stop = await session.resume()
        except BaseException as exc:
            await target.close()
            await stack.aclose()
            work.finish_run(self.store, target.run_id, "failed" if isinstance(exc, Exception)
                            else "stopped", {"error": describe(exc)})
            raise
        run = get_run(self.store, target.run_id)
        live.opened(session, stack, stop, dict(run.config or {}) if run else {})
        await self._warn(live)


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
    """The target of a browser-started step: `spec`'s graph and item, with the validated `cfg`
    (a judge step's query and response checked by `DebugSessions.start`).

    Raises:
        LookupError: an item key not in the curate selection.
    """
    from kindling.debugger.targets import adversarial_target, curate_target, judge_target

    if spec.graph == "curate":
        return curate_target(store, cfg, spec.item or None)
    if spec.graph == "adversarial":
        return adversarial_target(store, cfg)
    return judge_target(store, cfg, spec.query or "", spec.response or "")
