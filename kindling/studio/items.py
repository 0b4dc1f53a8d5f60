"""A graph run's items, paged, and one item's agent transcripts with the nodes that made them.

What an "item" is depends on the run:
- curate: a work item (`run_items`) with its verdict (key `r12`: response 12; `q3s0`: query 3's
  first generated candidate);
- judge, and any run whose reward was the judge (GRPO): a stored judgment of the run (key = the
  judgment's id); a judge run stepped in the debugger: its one item (key `item`);
- adversarial (and any other run that made LLM calls): an agent-call key such as `it2:det:0`.
"""

from __future__ import annotations

import re
from typing import Any

from kindling.agents.judge.steps import sample_key
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
STEPPED_KEY = "item"
"""The key of the one item of a judge run stepped in the debugger (its thread `judge:<run>:item`)."""
JUDGE_CALL_KEY = re.compile(r"j[0-9a-f]{16}")


def listing_shape(store: Store, run: Run) -> str:
    """How the run's items are listed: "curate" (work items), "judgments" (stored judgments:
    a judge run, or a GRPO run whose reward was the judge) or "calls" (agent-call keys)."""
    if run.kind == "curate":
        return "curate"
    if run.kind == "judge" or (run.kind != "adversarial" and run_items.has_judgments(store, run.id)):
        return "judgments"
    return "calls"


def list_items(store: Store, run: Run, *, offset: int, limit: int,
               where: run_items.ItemFilter | None = None) -> dict[str, Any]:
    """One page of the run's items (never the whole run), how many there are, and their shape;
    each item with a readable `heading` and what its key means (`about`)."""
    shape = listing_shape(store, run)
    listing: dict[str, Any]
    if stepped_judge(run):
        listing = {"total": 1, "offset": offset, "limit": limit,
                   "items": [stepped_row(store, run)] if offset == 0 else []}
    else:
        kind = {"judgments": "judge", "calls": "calls"}.get(shape, run.kind)
        listing = run_items.list_items(store, run.id, kind, offset=offset, limit=limit,
                                       where=where)
    for item in listing["items"]:
        item.update(describe_key(run, item["key"]))
    return {**listing, "shape": shape}


def stepped_judge(run: Run) -> bool:
    """Whether the run is a judge run of one item stepped in the debugger."""
    return run.kind == "judge" and isinstance((run.config or {}).get("item"), dict)


def stepped_row(store: Store, run: Run) -> dict[str, Any]:
    """A stepped judge run's one item as listed: its judgment if it stored one, else its input
    and the verdict its run recorded."""
    judged = run_items.first_judgment(store, run.id) or {}
    given, metrics = (run.config or {})["item"], run.metrics or {}
    status = judged.get("status") or ("done" if run.status == "finished" else run.status)
    return {"key": STEPPED_KEY, "status": status, "verdict": judged.get("verdict",
                                                                         metrics.get("verdict")),
            "score": judged.get("score", metrics.get("score")), "reason": judged.get("reason"),
            "query": judged.get("query", given.get("query")),
            "response": judged.get("response", given.get("response"))}


def describe_key(run: Run, key: str) -> dict[str, str]:
    """An item key as a person reads it: {heading, about (what the key means)}."""
    if run.kind == "curate":
        if m := re.fullmatch(r"r(\d+)", key):
            return {"heading": f"item {key}", "about": f"the stored response {m[1]}"}
        if m := re.fullmatch(r"q(\d+)s(\d+)", key):
            return {"heading": f"item {key}", "about": f"candidate {m[2]} generated for query {m[1]}"}
    if key == STEPPED_KEY and stepped_judge(run):
        return {"heading": "item", "about": "the one text this stepped judge run judged"}
    if key.isascii() and key.isdigit():
        return {"heading": f"judgment {key}", "about": f"the stored judgment {key} of this run"}
    if JUDGE_CALL_KEY.fullmatch(key):
        return {"heading": f"judge call {key}", "about": "the judge's agent calls for one text "
                "and sample (the key is a hash of the query, the response and the sample)"}
    if m := re.fullmatch(r"it(\d+):([a-z_]+):(\d+)", key):
        node = ADVERSARIAL_NODES.get(m[2], m[2])
        return {"heading": f"item {key}", "about": f"iteration {m[1]}, {node}, call {m[3]}"}
    return {"heading": f"item {key}", "about": "the key the run's agent calls were stored under"}


def trace(kind: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The item's agent calls as a trace: node, role, attempt, latency and its share of the
    slowest call (for a bar), tokens, error; in the order they were made."""
    slowest = max((c["latency_ms"] or 0 for c in calls), default=0) or 1
    return [{"id": c["id"], "node": node_of_call(kind, c["item_key"], c["role"]),
             "role": c["role"], "attempt": c["attempt"], "latency_ms": c["latency_ms"],
             "share": round(100 * (c["latency_ms"] or 0) / slowest, 1),
             "tokens": (c["prompt_tokens"] or 0) + (c["completion_tokens"] or 0),
             "error": c["error"]} for c in calls]


def item_detail(store: Store, run: Run, key: str,
                state: dict[str, Any] | None = None) -> dict[str, Any]:
    """One item: its fields, its agent calls in order, and the graph nodes those calls came from.

    `state` is the item's last checkpointed graph state, when it has checkpoints (a stepped
    judge run's item is read from it).

    Raises:
        NotFound: the run has no such item.
    """
    origin = None
    if run.kind == "curate":
        item, call_run, call_keys = run_items.curate_item(store, run.id, key), run.id, [key]
    elif key == STEPPED_KEY and stepped_judge(run):
        item, samples = stepped_item(store, run, state or {})
        origin = (run_items.judgment_of_texts(store, item["query"], item["response"], samples)
                  if item.get("cached") else None)
        call_run = origin["run_id"] if origin and origin["run_id"] else run.id
        call_keys = judge_call_keys(item, samples)
    elif key.isascii() and key.isdigit() and run.kind != "adversarial":
        item, samples = run_items.judgment_item(store, run.id, key)
        call_run, call_keys = run.id, judge_call_keys(item, samples)
    else:
        item, call_run, call_keys = {"key": key}, run.id, [key]
    transcripts = run_items.item_calls(store, call_run, call_keys)
    if "query" not in item and not transcripts:
        raise NotFound(f"run {run.id} has no item {key!r}")
    return {"item": item, "calls": transcripts, "origin": origin, **describe_key(run, key),
            "call_nodes": _unique(node_of_call(run.kind, c["item_key"], c["role"])
                                  for c in transcripts)}


def stepped_item(store: Store, run: Run, state: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A stepped judge run's item from its last checkpointed state (an edited response is the
    text judged), else its input and recorded verdict; and the Detector samples it asks for."""
    config, metrics = run.config or {}, run.metrics or {}
    given = config["item"]
    item = {"key": STEPPED_KEY, "status": run.status,
            "query": state.get("query", given.get("query")),
            "response": state.get("response", given.get("response")),
            "verdict": state.get("verdict", metrics.get("verdict")),
            "score": state.get("score", metrics.get("score")), "reason": state.get("reason"),
            "flagged": bool(state.get("flagged")), "cached": bool(state.get("cached")),
            "error": state.get("error"), "guard_reasons": state.get("guard_reasons") or []}
    item["labels"] = run_items.text_labels(store, str(item["query"]), str(item["response"]))
    return item, int(config.get("samples") or 1)


def judge_call_keys(item: dict[str, Any], samples: int) -> list[str]:
    """The agent-call keys of a judged text's Detector samples."""
    return [sample_key(item["query"], item["response"], i) for i in range(samples)]


def final_state(history: list[dict[str, Any]]) -> dict[str, Any]:
    """An item's state at its last checkpoint, from what each checkpoint changed."""
    state: dict[str, Any] = {}
    for step in history:
        state.update({field: change["after"] for field, change in step["changed"].items()})
    return state


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
