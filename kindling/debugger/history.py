"""A stored graph run, checkpoint by checkpoint: what ran, what is next, what each step changed.

Runs keep their LangGraph checkpoints in the store's backend (`kindling.checkpoints`): a curate
run has one thread per item (`curate:<run>:<item>`, a retried item `…:<attempt>`), an adversarial
run one thread (`adversarial:<run>`), a stepped judge run one thread per item (`judge:<run>:<item>`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from kindling.checkpoints import checkpoints_exist, open_checkpointer
from kindling.debugger.errors import TargetNotFound
from kindling.graphs.registry import compile_graph, require_graph_of_run
from kindling.store.db import Store
from kindling.store.refs import no_run_message
from kindling.store.reports import get_run
from kindling.store.work import item_attempts

AnyGraph = CompiledStateGraph[Any, Any, Any, Any]


@dataclass
class CheckpointStep:
    """One checkpoint of a thread, as the debugger, replay and studio show it."""

    index: int  # 0 = oldest checkpoint of the thread
    checkpoint_id: str
    step: int  # LangGraph's step counter (-1 for the input checkpoint)
    source: str  # "input" | "loop" | "update" | "fork"
    ran: list[str]  # nodes whose writes made this checkpoint
    next: list[str]  # nodes due to run from here
    values: dict[str, Any]  # the whole state, JSON-safe
    changed: dict[str, dict[str, Any]]  # field -> {"before": x, "after": y} vs the previous one
    created_at: str | None
    config: dict[str, Any]  # LangGraph's config addressing this checkpoint (for forking)


def jsonable(value: Any) -> Any:
    """A JSON-safe copy (anything JSON can't hold becomes its string)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def state_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fields whose value differs between two states: field -> {"before", "after"}."""
    return {key: {"before": before.get(key), "after": after.get(key)}
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)}


def steps_from_snapshots(snapshots: list[StateSnapshot]) -> list[CheckpointStep]:
    """Checkpoints oldest first, each with the nodes that made it and its change to the state."""
    steps: list[CheckpointStep] = []
    previous: dict[str, Any] = {}
    previous_next: list[str] = []
    for index, snap in enumerate(snapshots):
        values = jsonable(snap.values or {})
        metadata = snap.metadata or {}
        source = str(metadata.get("source", "loop"))
        ran = ["(edit)"] if source == "update" else [n for n in previous_next if n != "__start__"]
        if source == "loop" and previous_next == ["__start__"]:
            ran = ["(input)"]
        steps.append(CheckpointStep(
            index=index, checkpoint_id=snap.config["configurable"]["checkpoint_id"],
            step=int(metadata.get("step", -1)), source=source, ran=ran, next=list(snap.next),
            values=values, changed=state_changes(previous, values), created_at=snap.created_at,
            config=jsonable(snap.config)))
        previous, previous_next = values, list(snap.next)
    return steps


async def thread_steps(graph: AnyGraph, thread_id: str) -> list[CheckpointStep]:
    """Every checkpoint of one thread (the root namespace), oldest first."""
    config = {"configurable": {"thread_id": thread_id}}
    snapshots = [s async for s in graph.aget_state_history(config)]  # type: ignore[arg-type]
    return steps_from_snapshots(list(reversed(snapshots)))


def candidate_threads(store: Store, run_id: int, item_key: str | None) -> tuple[str, list[str]]:
    """The run's graph name and its thread ids for one item, the latest attempt first.

    Raises:
        TargetNotFound: no such run, or a curate/judge run asked without an item key.
        GraphError: the run's kind has no graph.
    """
    run = get_run(store, run_id)
    if run is None:
        raise TargetNotFound(no_run_message(store, run_id))
    graph = require_graph_of_run(run.kind)
    if graph == "adversarial":
        return graph, [f"adversarial:{run_id}"]
    if not item_key:
        raise TargetNotFound(f"run {run_id} is a {run.kind} run: name an item (--item KEY)")
    attempts = item_attempts(store, run_id, item_key) or 1
    base = f"{graph}:{run_id}:{item_key}"
    return graph, [f"{base}:{n}" for n in range(attempts, 1, -1)] + [base]


async def load_history(store: Store, run_id: int,
                       item_key: str | None = None) -> list[CheckpointStep]:
    """A run's checkpoints for one item (its latest attempt that left any), oldest first.

    Curate and judge runs need `item_key`; an adversarial run has one thread (the key is ignored).
    Returns [] when the run left no checkpoints for the item. Reads only: nothing is created.
    """
    graph_name, threads = candidate_threads(store, run_id, item_key)
    if not checkpoints_exist(store):
        return []
    async with open_checkpointer(store.url, setup=False) as saver:
        graph = compile_graph(graph_name, saver)
        for thread in threads:
            steps = await thread_steps(graph, thread)
            if steps:
                return steps
    return []
