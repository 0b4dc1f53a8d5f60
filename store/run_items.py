"""A graph run's items, paged, and one item's fields and agent calls (read-only).

What an "item" is depends on the run's kind:
- curate: a work item (`run_items`) with its verdict;
- judge: a stored judgment of the run (key = the judgment's id);
- any other run that made LLM calls (adversarial): an agent-call key such as `it2:det:0`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kindling.store.calls import call_record
from kindling.store.db import Store
from kindling.store.errors import NotFound
from kindling.store.models import (
    AgentCall,
    Judgment,
    Label,
    Query,
    Response,
    RunItem,
    Verdict,
    text_hash,
)
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased


@dataclass(frozen=True)
class ItemFilter:
    """Which of a curate run's items to list (None: any).

    verdict: the final verdict (0, 1) or -1 for none (failed or unfinished);
    label: the dataset's label (0, 1) or -1 for unlabelled;
    agreement: "agree" / "disagree" (verdict vs label, labelled items with a verdict only);
    status: the item's status (done, failed, pending, claimed).
    """

    verdict: int | None = None
    label: int | None = None
    agreement: str | None = None
    status: str | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.verdict, self.label, self.agreement, self.status))


def list_items(store: Store, run_id: int, kind: str, *, offset: int, limit: int,
               where: ItemFilter | None = None) -> dict[str, Any]:
    """One page of the run's items (never the whole run) and how many there are.

    `where` filters a curate run's items (other kinds list every item)."""
    with store.session() as s:
        if kind == "curate":
            total, items = _curate_items(s, run_id, offset, limit, where or ItemFilter())
        else:
            lister = _judgment_items if kind == "judge" else _call_items
            total, items = lister(s, run_id, offset, limit)
    return {"total": total, "offset": offset, "limit": limit, "items": items}


def label_column(response_id: Any) -> Any:
    """A scalar subquery: a response's label (the lowest dataset name's, when several label it)."""
    return (select(Label.value).where(Label.response_id == response_id)
            .order_by(Label.dataset).limit(1).scalar_subquery())


def labels_of(s: Any, response_id: int | None) -> dict[str, int]:
    """Every dataset's label of a response: {dataset: 0 or 1}."""
    if response_id is None:
        return {}
    return dict(s.execute(select(Label.dataset, Label.value)
                          .where(Label.response_id == response_id)).all())


def _filtered(stmt: Select, where: ItemFilter, label: Any) -> Select:
    if where.status is not None:
        stmt = stmt.where(RunItem.status == where.status)
    if where.verdict is not None:
        stmt = stmt.where(Verdict.final_verdict.is_(None) if where.verdict < 0
                          else Verdict.final_verdict == where.verdict)
    if where.label is not None:
        stmt = stmt.where(label.is_(None) if where.label < 0 else label == where.label)
    if where.agreement is not None:
        stmt = stmt.where(Verdict.final_verdict.is_not(None), label.is_not(None),
                          (Verdict.final_verdict == label) if where.agreement == "agree"
                          else (Verdict.final_verdict != label))
    return stmt


def curate_item(store: Store, run_id: int, key: str) -> dict[str, Any]:
    """A curate run's work item with its texts and verdict.

    Raises:
        NotFound: the run has no such item.
    """
    with store.session() as s:
        return _curate_item(s, run_id, key)


def judgment_item(store: Store, run_id: int, key: str) -> tuple[dict[str, Any], int]:
    """A judge run's judgment (key: its id) and how many Detector samples it took.

    Raises:
        NotFound: the run has no such judgment.
    """
    with store.session() as s:
        return _judgment_item(s, run_id, key)


def has_judgments(store: Store, run_id: int) -> bool:
    """Whether the run stored any judgment (a judge run, or GRPO with the judge as its reward)."""
    with store.session() as s:
        return s.scalar(select(Judgment.id).where(Judgment.run_id == run_id).limit(1)) is not None


def first_judgment(store: Store, run_id: int) -> dict[str, Any] | None:
    """The run's first stored judgment as a listed item, or None."""
    with store.session() as s:
        items = _judgment_items(s, run_id, 0, 1)[1]
    return items[0] if items else None


def text_labels(store: Store, query: str, response: str) -> dict[str, int]:
    """Every dataset's label of the stored response with this text under this query."""
    with store.session() as s:
        return labels_of(s, _response_id(s, query, response))


def judgment_of_texts(store: Store, query: str, response: str,
                      samples: int) -> dict[str, Any] | None:
    """The first stored judgment of these texts with this sample count, whichever run made it
    (where a cached verdict came from): {id, run_id, principle_version_id, model}."""
    with store.session() as s:
        j = s.scalars(select(Judgment).where(
            Judgment.query_hash == text_hash(query), Judgment.response_hash == text_hash(response),
            Judgment.samples == samples).order_by(Judgment.id).limit(1)).first()
        return None if j is None else {"id": j.id, "run_id": j.run_id, "model": j.model,
                                       "principle_version_id": j.principle_version_id}


def item_calls(store: Store, run_id: int, keys: list[str]) -> list[dict[str, Any]]:
    """The run's agent calls under these item keys, oldest first, as transcripts."""
    with store.session() as s:
        calls = s.scalars(select(AgentCall).where(
            AgentCall.run_id == run_id, AgentCall.item_key.in_(keys))
            .order_by(AgentCall.id)).all()
        return [call_record(c) for c in calls]


def _page(s: Any, stmt: Select, offset: int, limit: int) -> tuple[int, list[Any]]:
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return total, list(s.execute(stmt.offset(offset).limit(limit)).all())


def _curate_items(s: Any, run_id: int, offset: int, limit: int,
                  where: ItemFilter) -> tuple[int, list[dict]]:
    label = label_column(RunItem.response_id)
    stmt = (select(RunItem.item_key, RunItem.status, RunItem.attempts, Verdict.initial_verdict,
                   Verdict.final_verdict, Query.text, Response.text, label)
            .outerjoin(Verdict, (Verdict.run_id == RunItem.run_id)
                       & (Verdict.item_key == RunItem.item_key))
            .join(Query, Query.id == RunItem.query_id)
            .outerjoin(Response, Response.id == RunItem.response_id)
            .where(RunItem.run_id == run_id).order_by(RunItem.id))
    total, rows = _page(s, _filtered(stmt, where, label), offset, limit)
    return total, [{"key": key, "status": status, "attempts": attempts, "initial": initial,
                    "verdict": final, "query": query, "response": response, "label": value,
                    "agrees": None if final is None or value is None else final == value}
                   for key, status, attempts, initial, final, query, response, value in rows]


def _judgment_items(s: Any, run_id: int, offset: int, limit: int) -> tuple[int, list[dict]]:
    stmt = select(Judgment).where(Judgment.run_id == run_id).order_by(Judgment.id)
    total, rows = _page(s, stmt, offset, limit)
    return total, [{"key": str(j.id), "status": "flagged" if j.flagged else "done",
                    "verdict": j.verdict, "score": j.score, "reason": j.reason,
                    "flagged": j.flagged, "query": j.query, "response": j.response}
                   for (j,) in rows]


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
            "response": text, "response_id": it.response_id,
            "labels": labels_of(s, it.response_id), "verdict": verdict}


def _judgment_item(s: Any, run_id: int, key: str) -> tuple[dict[str, Any], int]:
    j = s.get(Judgment, int(key)) if key.isascii() and key.isdigit() else None
    if j is None or j.run_id != run_id:
        raise NotFound(f"run {run_id} has no item {key!r}")
    item = {"key": key, "query": j.query, "response": j.response, "verdict": j.verdict,
            "score": j.score, "reason": j.reason, "flagged": j.flagged, "model": j.model,
            "principle_version_id": j.principle_version_id,
            "labels": labels_of(s, _response_id(s, j.query, j.response))}
    return item, j.samples


def _response_id(s: Any, query: str, response: str) -> int | None:
    """The stored response with this text under this query, if any."""
    return s.scalar(select(Response.id).join(Query, Query.id == Response.query_id)
                    .where(Query.text_hash == text_hash(query),
                           Response.text_hash == text_hash(response)).limit(1))
