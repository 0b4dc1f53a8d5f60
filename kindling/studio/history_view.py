"""An item's path through its graph, from LangGraph's checkpoints (kindling.debugger.history)."""

from __future__ import annotations

from typing import Any

from kindling.store.db import Store
from kindling.store.models import Run


async def item_history(store: Store, run: Run, key: str) -> list[dict[str, Any]]:
    """The item's checkpoints, oldest first, each with the nodes that ran and what they changed.

    Whole-state values are left out (the `changed` fields say what each step did). An adversarial
    run has one thread for the whole run, not one per item, so its items have no history here;
    a run whose graph kept no checkpoints gives an empty list.
    """
    from kindling.debugger.history import load_history

    if run.kind == "adversarial":
        return []
    steps = await load_history(store, run.id, key)
    return [{"index": st.index, "checkpoint_id": st.checkpoint_id, "step": st.step,
             "source": st.source, "ran": list(st.ran), "next": list(st.next),
             "changed": st.changed, "created_at": st.created_at} for st in steps]


def path_of(history: list[dict[str, Any]]) -> list[str]:
    """The nodes an item went through, in order: the `ran` nodes of each checkpoint, less the
    history's markers for the input and for state edits ("(input)", "(edit)")."""
    return [node for step in history for node in step["ran"] if not node.startswith("(")]
