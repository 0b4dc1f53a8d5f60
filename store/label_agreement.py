"""How often curate runs' verdicts agree with the human labels (for the studio's runs list)."""

from __future__ import annotations

from kindling.store.db import Store
from kindling.store.models import Verdict
from kindling.store.run_items import label_column
from sqlalchemy import case, func, select


def label_agreement(store: Store, run_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per curate run: (verdicts equal to the label, labelled items with a verdict).

    Args:
        store: The store.
        run_ids: The runs to count (one query for all of them).

    Returns:
        run id → (agree, labelled); a run with no labelled verdict is left out.
    """
    if not run_ids:
        return {}
    label = label_column(Verdict.response_id)
    judged = (select(Verdict.run_id.label("run_id"), Verdict.final_verdict.label("verdict"),
                     label.label("label"))
              .where(Verdict.run_id.in_(run_ids), Verdict.final_verdict.is_not(None))
              .subquery())
    stmt = (select(judged.c.run_id, func.sum(case((judged.c.verdict == judged.c.label, 1),
                                                  else_=0)), func.count())
            .where(judged.c.label.is_not(None)).group_by(judged.c.run_id))
    with store.session() as s:
        return {run_id: (int(agree or 0), int(n)) for run_id, agree, n in s.execute(stmt).all()}
