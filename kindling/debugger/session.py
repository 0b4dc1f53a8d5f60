"""Drive one graph thread with breakpoints: stop, look, edit the state, go on.

The engine of `kindling graph step` (and of a fork's continuation in `kindling graph replay`).
Breakpoints are LangGraph's own `interrupt_before` / `interrupt_after`, given per call; every
step is checkpointed (durability "sync") in the store's checkpointer, SQLite or Postgres, so a
stepped run can be replayed like any other.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.errors import InvalidUpdateError

from kindling.debugger.errors import StepError
from kindling.debugger.history import AnyGraph, jsonable, state_changes
from kindling.debugger.targets import GraphTarget
from kindling.store.calls import calls_after
from kindling.store.db import Store
from kindling.store.work import finish_run, record_edit

INTERNAL = ("__start__", "__end__")


def _breakpoints(names: list[str]) -> Any:
    """LangGraph's form: "*" (every node), a list of names, or None."""
    return "*" if "*" in names else (names or None)


@dataclass
class Stop:
    """Where a stepped run paused (or ended), and what happened since the previous stop."""

    reason: str
    ran: list[str]  # nodes run since the previous stop, in order
    next: list[str]  # nodes due next ([] once the graph ended)
    state: dict[str, Any]
    changed: dict[str, dict[str, Any]]  # field -> {"before", "after"} vs the previous stop
    calls: list[dict[str, Any]] = field(default_factory=list)  # agent calls since the last stop

    @property
    def finished(self) -> bool:
        return not self.next


def mark_left(store: Store, run_id: int, stop: Stop | None) -> None:
    """A stepped run left before its graph ended (quit, or its session closed) is marked stopped,
    naming the nodes it stopped before; a finished one was marked by its target's `on_end`."""
    if stop is not None and not stop.finished:
        finish_run(store, run_id, "stopped", {"stopped_before": stop.next})


def graph_nodes(graph: AnyGraph) -> list[str]:
    """The graph's own nodes (no __start__/__end__)."""
    return [n for n in graph.get_graph().nodes if n not in INTERNAL]


def check_breakpoints(graph: AnyGraph, name: str, breakpoints: Sequence[str]) -> None:
    """Raise StepError for a breakpoint that names no node of the graph ("*" is every node)."""
    known = graph_nodes(graph)
    for node in breakpoints:
        if node != "*" and node not in known:
            raise StepError(f"no node {node!r} in the {name} graph (nodes: {', '.join(known)})")


def state_fields(graph: AnyGraph) -> list[str]:
    """The fields of the graph's state schema."""
    return list(typing.get_type_hints(graph.builder.state_schema))


def check_fields(graph: AnyGraph, name: str, fields: Sequence[str]) -> None:
    """Raise StepError unless every name is a field of the graph's state."""
    known = state_fields(graph)
    for wanted in fields:
        if wanted not in known:
            raise StepError(f"the {name} state has no field {wanted!r} (fields: {', '.join(known)})")


class StepSession:
    """One thread of a graph, run to breakpoints.

    Args:
        graph: the graph compiled with a checkpointer.
        target: the run, thread, context and input to drive.
        break_before / break_after: node names to pause before / after ("*" for every node).
    """

    def __init__(self, graph: AnyGraph, target: GraphTarget, *,
                 break_before: Sequence[str] = (), break_after: Sequence[str] = ()) -> None:
        self.graph, self.target = graph, target
        check_breakpoints(graph, target.graph, [*break_before, *break_after])
        self.break_before, self.break_after = list(break_before), list(break_after)
        self.config: RunnableConfig = {"configurable": {"thread_id": target.thread_id},
                                       "recursion_limit": target.recursion_limit}
        self._state: dict[str, Any] = {}
        self._last_call_id = 0
        self._ran_so_far: list[str] = []  # nodes run in this session, in order
        self._running: dict[str, str] = {}  # LangGraph task id -> node, while a run goes on

    @property
    def running(self) -> list[str]:
        """The nodes running now (several for parallel branches, such as advocate ∥ critic), in
        the order they started; [] between runs."""
        return list(dict.fromkeys(self._running.values()))

    async def begin(self) -> Stop:
        """Take the input and pause before the first node (its input can be edited there)."""
        return await self._run(self.target.start, before=["*"], after=[], mode="start")

    async def resume(self) -> Stop:
        """Take over an existing thread (a copied checkpoint): pause where it stands."""
        return await self._stop([], mode="start", before=["*"])

    async def advance(self, step: bool = False) -> Stop:
        """Run to the next breakpoint (or, with `step`, to the end of the next node)."""
        after = ["*"] if step else self.break_after
        return await self._run(None, before=self.break_before, after=after,
                               mode="step" if step else "continue")

    async def edit(self, name: str, value: Any) -> Stop:
        """Set one state field at the current checkpoint; the run goes on from the edited state.

        Fields with a reducer (e.g. `errors`, a list that nodes append to) take the value through
        the reducer, as a node's write would.

        Raises:
            StepError: the state has no such field, or the run already ended.
        """
        check_fields(self.graph, self.target.graph, [name])
        snapshot = await self.graph.aget_state(self.config)
        if not snapshot.next:
            raise StepError("the run has ended: nothing left to edit")
        try:
            await self.graph.aupdate_state(self.config, {name: value})
        except InvalidUpdateError:  # several nodes wrote last (a parallel step): name one
            writers = await self._last_writers(snapshot)
            if not writers:
                raise
            await self.graph.aupdate_state(self.config, {name: value},
                                           as_node=writers[-1])
        record_edit(self.target.calls.store, self.target.run_id,
                    {"field": name, "before": [n for n in snapshot.next if n not in INTERNAL],
                     "after_nodes": self._ran_in_graph_order()})
        return await self._stop([], mode="edit", before=["*"])

    def _ran_in_graph_order(self) -> list[str]:
        """The nodes run so far, each once, in the graph's own order (parallel nodes finish in
        any order; the record must not depend on which came back first)."""
        order = graph_nodes(self.graph)
        return sorted(set(self._ran_so_far), key=lambda n: (order.index(n) if n in order else len(order), n))

    async def _last_writers(self, snapshot: Any) -> list[str]:
        """The nodes whose step made this checkpoint (the parent checkpoint's next nodes; a
        copied checkpoint has no parent here and names them in its metadata)."""
        if snapshot.parent_config is None:
            return list((snapshot.metadata or {}).get("writers", []))
        parent = await self.graph.aget_state(snapshot.parent_config)
        return [n for n in parent.next if n not in INTERNAL]

    async def _run(self, start: dict[str, Any] | None, *, before: list[str], after: list[str],
                   mode: str) -> Stop:
        ran: list[str] = []
        try:
            async for kind, chunk in self.graph.astream(
                    start, self.config, context=self.target.context,
                    stream_mode=["updates", "tasks"], interrupt_before=_breakpoints(before),
                    interrupt_after=_breakpoints(after), durability="sync"):
                if kind == "tasks":
                    self._track(typing.cast(dict[str, Any], chunk))
                else:
                    ran += [node for node in chunk if node != "__interrupt__"]
        finally:
            self._running.clear()
        self._ran_so_far += ran
        return await self._stop(ran, mode=mode, before=before)

    def _track(self, event: dict[str, Any]) -> None:
        """LangGraph's task events: a task starts (it names its triggers) or ends (its result)."""
        if "triggers" in event:
            if event["name"] not in INTERNAL:
                self._running[event["id"]] = event["name"]
        else:
            self._running.pop(event["id"], None)

    async def _stop(self, ran: list[str], *, mode: str, before: list[str]) -> Stop:
        snapshot = await self.graph.aget_state(self.config)
        values = jsonable(snapshot.values or {})
        nxt = list(snapshot.next)
        self.target.calls.flush()
        calls = calls_after(self.target.calls.store, self.target.run_id, self._last_call_id)
        if calls:
            self._last_call_id = calls[-1]["id"]
        stop = Stop(self._reason(mode, ran, nxt, before), ran, nxt, values,
                    state_changes(self._state, values), calls)
        self._state = values
        if stop.finished:
            self.target.on_end(values)
        return stop

    def _reason(self, mode: str, ran: list[str], nxt: list[str], before: list[str]) -> str:
        if not nxt:
            return "finished"
        if mode in ("start", "edit"):
            return "edited" if mode == "edit" else "paused before " + ", ".join(nxt)
        if "*" in before or set(nxt) & set(before):
            return "breakpoint before " + ", ".join(nxt)
        if mode == "step":
            return "stepped over " + ", ".join(ran[-1:])
        return "breakpoint after " + ", ".join(n for n in ran if n in self.break_after)
