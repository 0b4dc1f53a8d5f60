"""A graph run's items, paged, and one item's agent transcripts with the nodes that made them.

What an "item" is depends on the run's graph:
- curate: a work item (`run_items`) with its verdict;
- judge: a stored judgment of the run (key = the judgment's id);
- adversarial (and any other run that made LLM calls): an agent-call key such as `it2:det:0`.
"""

from __future__ import annotations

from typing import Any

from kindling.agents.judge.nodes import sample_key
from kindling.store import run_items
from kindling.store.db import Store
from kindling.store.errors import NotFound
from kindling.store.models import Run

ADVERSARIAL_NODES = {"gen": "generate_flawed", "det": "detect", "opt_sg": "revise_strategies",
                     "opt_sd_fooled": "revise_strategies", "lab": "detect_labelled",
                     "refl": "reflect_on_errors", "opt_sd_reflect": "revise_principles"}
"""The middle part of an adversarial call key → the node that made the call."""
ROLE_NODES = {"generate": "generate_candidate"}
"""Curate call roles whose node has another name (the others are named as their node)."""


def list_items(store: Store, run: Run, *, offset: int, limit: int,
               where: run_items.ItemFilter | None = None) -> dict[str, Any]:
    """One page of the run's items (never the whole run) and how many there are."""
    return run_items.list_items(store, run.id, run.kind, offset=offset, limit=limit, where=where)


def trace(kind: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The item's agent calls as a trace: node, role, attempt, latency and its share of the
    slowest call (for a bar), tokens, error; in the order they were made."""
    slowest = max((c["latency_ms"] or 0 for c in calls), default=0) or 1
    return [{"id": c["id"], "node": node_of_call(kind, c["item_key"], c["role"]),
             "role": c["role"], "attempt": c["attempt"], "latency_ms": c["latency_ms"],
             "share": round(100 * (c["latency_ms"] or 0) / slowest, 1),
             "tokens": (c["prompt_tokens"] or 0) + (c["completion_tokens"] or 0),
             "error": c["error"]} for c in calls]


def item_detail(store: Store, run: Run, key: str) -> dict[str, Any]:
    """One item: its fields, its agent calls in order, and the graph nodes those calls came from.

    Raises:
        NotFound: the run has no such item.
    """
    if run.kind == "curate":
        item, call_keys = run_items.curate_item(store, run.id, key), [key]
    elif run.kind == "judge":
        item, samples = run_items.judgment_item(store, run.id, key)
        call_keys = [sample_key(item["query"], item["response"], i) for i in range(samples)]
    else:
        item, call_keys = {"key": key}, [key]
    transcripts = run_items.item_calls(store, run.id, call_keys)
    if run.kind not in ("curate", "judge") and not transcripts:
        raise NotFound(f"run {run.id} has no item {key!r}")
    return {"item": item, "calls": transcripts,
            "call_nodes": _unique(node_of_call(run.kind, c["item_key"], c["role"])
                                  for c in transcripts)}


def node_of_call(kind: str, item_key: str, role: str) -> str:
    """The graph node that made an agent call, from the run kind, the call's key and role."""
    if kind == "adversarial":
        if item_key.startswith("j"):
            return "validate"
        parts = item_key.split(":")
        return ADVERSARIAL_NODES.get(parts[1] if len(parts) > 1 else "", role)
    return ROLE_NODES.get(role, role)


def _unique(names: Any) -> list[str]:
    return list(dict.fromkeys(names))
