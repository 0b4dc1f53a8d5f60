"""A graph run's items, paged, and one item's agent transcripts (read-only).

What an "item" is depends on the run's graph:
- curate: a work item (`run_items`) with its verdict;
- judge: a stored judgment of the run (key = the judgment's id);
- adversarial (and any other run that made LLM calls): an agent-call key such as `it2:det:0`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from agents.judge.nodes import sample_key
from kindling.studio.runs_data import NotFound
from store.calls import call_record
from store.db import Store
from store.models import AgentCall, Judgment, Query, Response, Run, RunItem, Verdict

ADVERSARIAL_NODES = {"gen": "generate_flawed", "det": "detect", "opt_sg": "revise_strategies",
                     "opt_sd_fooled": "revise_strategies", "lab": "detect_labelled",
                     "refl": "reflect_on_errors", "opt_sd_reflect": "revise_principles"}
"""The middle part of an adversarial call key → the node that made the call."""
ROLE_NODES = {"generate": "generate_candidate"}
"""Curate call roles whose node has another name (the others are named as their node)."""


def _page(s: Any, stmt: Select, offset: int, limit: int) -> tuple[int, list[Any]]:
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return total, list(s.execute(stmt.offset(offset).limit(limit)).all())


def list_items(store: Store, run: Run, *, offset: int, limit: int) -> dict[str, Any]:
    """One page of the run's items (never the whole run) and how many there are."""
    lister = {"curate": _curate_items, "judge": _judgment_items}.get(run.kind, _call_items)
    with store.session() as s:
        total, items = lister(s, run.id, offset, limit)
    return {"total": total, "offset": offset, "limit": limit, "items": items}


def _curate_items(s: Any, run_id: int, offset: int, limit: int) -> tuple[int, list[dict]]:
    stmt = (select(RunItem.item_key, RunItem.status, RunItem.attempts, Verdict.initial_verdict,
                   Verdict.final_verdict, Query.text, Response.text)
            .outerjoin(Verdict, (Verdict.run_id == RunItem.run_id)
                       & (Verdict.item_key == RunItem.item_key))
            .join(Query, Query.id == RunItem.query_id)
            .outerjoin(Response, Response.id == RunItem.response_id)
            .where(RunItem.run_id == run_id).order_by(RunItem.id))
    total, rows = _page(s, stmt, offset, limit)
    return total, [{"key": key, "status": status, "attempts": attempts, "initial": initial,
                    "verdict": final, "query": query, "response": response}
                   for key, status, attempts, initial, final, query, response in rows]


def _judgment_items(s: Any, run_id: int, offset: int, limit: int) -> tuple[int, list[dict]]:
    stmt = select(Judgment).where(Judgment.run_id == run_id).order_by(Judgment.id)
    total, rows = _page(s, stmt, offset, limit)
    return total, [{"key": str(j.id), "status": "flagged" if j.flagged else "done",
                    "verdict": j.verdict, "score": j.score, "query": j.query,
                    "response": j.response} for (j,) in rows]


def _call_items(s: Any, run_id: int, offset: int, limit: int) -> tuple[int, list[dict]]:
    stmt = (select(AgentCall.item_key, func.min(AgentCall.role), func.count(),
                   func.count(AgentCall.error), func.max(AgentCall.id))
            .where(AgentCall.run_id == run_id).group_by(AgentCall.item_key)
            .order_by(func.min(AgentCall.id)))
    total, rows = _page(s, stmt, offset, limit)
    last = {i: p for i, p in s.execute(select(AgentCall.id, AgentCall.parsed_output).where(
        AgentCall.id.in_([r[4] for r in rows])))}
    return total, [{"key": key, "status": "failed" if errors == calls else "done",
                    "role": role, "calls": calls,
                    "verdict": (last.get(last_id) or {}).get("verdict")}
                   for key, role, calls, errors, last_id in rows]


def item_detail(store: Store, run: Run, key: str) -> dict[str, Any]:
    """One item: its fields, its agent calls in order, and the graph nodes those calls came from.

    Raises:
        NotFound: the run has no such item.
    """
    with store.session() as s:
        if run.kind == "curate":
            item, call_keys = _curate_item(s, run.id, key), [key]
        elif run.kind == "judge":
            item, call_keys = _judgment_item(s, run.id, key)
        else:
            item, call_keys = {"key": key}, [key]
        calls = s.scalars(select(AgentCall).where(
            AgentCall.run_id == run.id, AgentCall.item_key.in_(call_keys))
            .order_by(AgentCall.id)).all()
    if run.kind not in ("curate", "judge") and not calls:
        raise NotFound(f"run {run.id} has no item {key!r}")
    transcripts = [call_record(c) for c in calls]
    return {"item": item, "calls": transcripts,
            "call_nodes": _unique(node_of_call(run.kind, c.item_key, c.role) for c in calls)}


def _curate_item(s: Any, run_id: int, key: str) -> dict[str, Any]:
    response = aliased(Response)
    row = s.execute(select(RunItem, Verdict, Query.text, response.text)
                    .outerjoin(Verdict, (Verdict.run_id == RunItem.run_id)
                               & (Verdict.item_key == RunItem.item_key))
                    .join(Query, Query.id == RunItem.query_id)
                    .outerjoin(response, response.id == RunItem.response_id)
                    .where(RunItem.run_id == run_id, RunItem.item_key == key)).first()
    if row is None:
        raise NotFound(f"run {run_id} has no item {key!r}")
    it, v, query, text = row
    verdict = None if v is None else {
        "status": v.status, "initial": v.initial_verdict, "final": v.final_verdict,
        "judge_reason": v.judge_reason, "reflect_reason": v.reflect_reason,
        "pros": v.pros, "cons": v.cons, "error": v.error}
    return {"key": key, "status": it.status, "attempts": it.attempts, "query": query,
            "response": text, "verdict": verdict}


def _judgment_item(s: Any, run_id: int, key: str) -> tuple[dict[str, Any], list[str]]:
    j = s.get(Judgment, int(key)) if key.isascii() and key.isdigit() else None
    if j is None or j.run_id != run_id:
        raise NotFound(f"run {run_id} has no item {key!r}")
    item = {"key": key, "query": j.query, "response": j.response, "verdict": j.verdict,
            "score": j.score, "reason": j.reason, "flagged": j.flagged, "model": j.model,
            "principle_version_id": j.principle_version_id}
    return item, [sample_key(j.query, j.response, i) for i in range(j.samples)]


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
