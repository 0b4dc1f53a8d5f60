"""Two curate runs item by item (e.g. two principle versions on the same items), and what a
running curate run is doing now (its latest verdicts, the items in flight)."""

from __future__ import annotations

from typing import Any

from kindling.store.db import Store
from kindling.store.models import Query, Response, RunItem, Verdict
from kindling.store.run_items import label_column
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased


def compare_runs(store: Store, a: int, b: int, *, changed_only: bool, offset: int,
                 limit: int) -> dict[str, Any]:
    """The items both runs judged (same query and response), with both verdicts and the label.

    Returns {total, offset, limit, items, summary}; `summary` counts every shared item: shared,
    same, differ, and each run's agreement with the labels where there are labels.
    """
    item_a, item_b = aliased(RunItem), aliased(RunItem)
    ver_a, ver_b = aliased(Verdict), aliased(Verdict)
    label = label_column(item_a.response_id).label("label")
    joined = (select(item_a.item_key.label("key_a"), item_b.item_key.label("key_b"),
                     Query.text.label("query"), Response.text.label("response"),
                     ver_a.final_verdict.label("a"), ver_b.final_verdict.label("b"), label)
              .join(item_b, and_(item_b.run_id == b, item_b.query_id == item_a.query_id,
                                 item_b.response_id == item_a.response_id))
              .join(Query, Query.id == item_a.query_id)
              .join(Response, Response.id == item_a.response_id)
              .outerjoin(ver_a, and_(ver_a.run_id == a, ver_a.item_key == item_a.item_key))
              .outerjoin(ver_b, and_(ver_b.run_id == b, ver_b.item_key == item_b.item_key))
              .where(item_a.run_id == a))
    rows_q = joined.where(func.coalesce(ver_a.final_verdict, -1)
                          != func.coalesce(ver_b.final_verdict, -1)) if changed_only else joined
    with store.session() as s:
        every = s.execute(joined.with_only_columns(ver_a.final_verdict, ver_b.final_verdict,
                                                   label)).all()
        total = s.scalar(select(func.count()).select_from(rows_q.subquery())) or 0
        rows = s.execute(rows_q.order_by(item_a.id).offset(offset).limit(limit)).mappings().all()
    return {"total": total, "offset": offset, "limit": limit,
            "items": [dict(r) for r in rows], "summary": _summary(every)}


def _summary(rows: list[Any]) -> dict[str, Any]:
    labelled = [(va, vb, lab) for va, vb, lab in rows if lab is not None]
    return {"shared": len(rows), "same": sum(1 for va, vb, _ in rows if va == vb),
            "differ": sum(1 for va, vb, _ in rows if va != vb), "labelled": len(labelled),
            "agree_a": sum(1 for va, _, lab in labelled if va == lab),
            "agree_b": sum(1 for _, vb, lab in labelled if vb == lab)}


def latest_verdicts(store: Store, run_id: int, n: int = 10) -> list[dict[str, Any]]:
    """The run's newest verdicts, newest first: key, verdict, label, status."""
    label = label_column(Verdict.response_id)
    with store.session() as s:
        rows = s.execute(select(Verdict.id, Verdict.item_key, Verdict.final_verdict,
                                Verdict.status, label).where(Verdict.run_id == run_id)
                         .order_by(Verdict.id.desc()).limit(n)).all()
    return [{"id": i, "key": key, "verdict": v, "status": status, "label": lab}
            for i, key, v, status, lab in rows]


def items_in_flight(store: Store, run_id: int, n: int = 8) -> list[str]:
    """Keys of the run's items a worker holds now (status claimed), oldest first."""
    with store.session() as s:
        return list(s.scalars(select(RunItem.item_key).where(
            RunItem.run_id == run_id, RunItem.status == "claimed").order_by(RunItem.id).limit(n)))
