"""Time travel: fork a stored run at a checkpoint, with an edited state, into a new run.

The checkpoint is copied into the new run's thread, the
edits are applied as a state update, and the graph goes on from there: nodes before the
checkpoint are not run again, so their LLM calls are not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver

from kindling.checkpoints import open_checkpointer
from kindling.debugger.errors import StepError, TargetNotFound
from kindling.debugger.history import CheckpointStep
from kindling.debugger.session import StepSession, Stop, check_fields
from kindling.debugger.targets import fork_target
from kindling.graphs.registry import compile_graph
from kindling.store.db import Store


def run_graph(store: Store, run_id: int) -> str:
    """The graph a stored run ran (its kind), checked to be one that can be forked.

    Raises:
        StepError: no such run, or a kind without graph checkpoints.
    """
    from kindling.store.refs import no_run_message
    from kindling.store.reports import get_run

    run = get_run(store, run_id)
    kind, config = (run.kind, run.config) if run is not None else (None, {})
    if kind is None:
        raise StepError(no_run_message(store, run_id))
    if kind in ("curate", "adversarial") or (kind == "judge" and "item" in (config or {})):
        return kind
    raise StepError(f"run {run_id} ({kind}) cannot be forked: only curate, adversarial and "
                    "stepped judge runs keep graph checkpoints")


@dataclass
class ForkOutcome:
    """The new run a fork made and where it ended."""

    run_id: int
    item_key: str | None
    stop: Stop


async def copy_checkpoint(saver: BaseCheckpointSaver, source: dict[str, Any], thread_id: str,
                          writers: list[str]) -> dict[str, Any]:
    """Copy one checkpoint into another thread; returns the copy's config.

    `writers` (the nodes whose step made the checkpoint) go into the copy's metadata: an edit
    after a parallel step needs to name one of them.

    Writes that tasks of the checkpoint's step left (kept so an interrupted step can resume) are
    not copied: the copy runs that step again, as a fork from the checkpoint should.

    Raises:
        TargetNotFound: the source checkpoint is not stored.
    """
    found = await saver.aget_tuple(source)  # type: ignore[arg-type]
    if found is None:
        raise TargetNotFound(f"checkpoint {source['configurable'].get('checkpoint_id')} not found")
    into = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    metadata = {**found.metadata, "source": "fork", "writers": writers}
    copied = await saver.aput(into, found.checkpoint, metadata,  # type: ignore[arg-type]
                              found.checkpoint["channel_versions"])
    return dict(copied)


async def fork_run(store: Store, run_id: int, item_key: str | None, at: CheckpointStep,
                   edits: dict[str, Any], *,
                   chat_models: dict[str, BaseChatModel] | None = None) -> ForkOutcome:
    """A new run continuing `run_id`'s thread from checkpoint `at`, with `edits` applied.

    Raises:
        ValueError: the checkpoint is the run's end (nothing left to run), or the run's kind
            cannot be forked.
        StepError: an edit names a field the state does not have.
    """
    if not at.next:
        raise StepError(f"checkpoint {at.index + 1} is where the run ended: fork from an "
                        "earlier one")
    kind = run_graph(store, run_id)
    check_fields(compile_graph(kind, None), kind, list(edits))  # before the new run exists
    target = fork_target(store, run_id, item_key, at.checkpoint_id, chat_models=chat_models)
    try:
        async with open_checkpointer(store.url) as saver:
            graph = compile_graph(target.graph, saver)
            writers = ["__start__" if n == "(input)" else n for n in at.ran if n != "(edit)"]
            await copy_checkpoint(saver, at.config, target.thread_id, writers)
            session = StepSession(graph, target)
            await session.resume()
            for name, value in edits.items():
                await session.edit(name, value)
            stop = await session.advance()
    finally:
        target.calls.flush()
        await target.close()
    return ForkOutcome(target.run_id, target.item_key, stop)
