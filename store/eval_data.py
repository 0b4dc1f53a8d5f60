"""Labelled data for evaluation, and the predictions of curate and judge runs matched to it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kindling.store.db import Store
from kindling.store.models import (
    DatasetRecord,
    Judgment,
    Label,
    PreferencePair,
    Query,
    Response,
    RunItem,
    Verdict,
    text_hash,
)
from sqlalchemy import select

RM_TRAIN_DATASET = "rm_train"
_CHUNK = 500


@dataclass(frozen=True)
class LabelledItem:
    """A labelled response: texts, label (1 good, 0 not), length in characters, RM-train overlap."""

    query_id: int
    response_id: int
    query: str
    response: str
    label: int
    length: int
    seen_in_rm_train: bool


@dataclass
class Predictions:
    """A run's predictions for labelled items, and what could not be scored.

    Attributes:
        predicted: Response id -> prediction (0 or 1), for labelled items judged successfully.
        failed: Response ids of labelled items whose verdict failed (no usable prediction).
        unjudged: Response ids of labelled items the run holds but has not judged yet.
        outside: The run's predictions for responses that are not labelled items.
        flagged: Response ids whose judgment was flagged (scored with its verdict as given).
    """

    predicted: dict[int, int] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)
    unjudged: set[int] = field(default_factory=set)
    outside: int = 0
    flagged: set[int] = field(default_factory=set)

    @property
    def seen(self) -> set[int]:
        """Every labelled response the run holds, judged or not."""
        return set(self.predicted) | self.failed | self.unjudged


def rm_train_response_ids(store: Store, dataset: str = RM_TRAIN_DATASET) -> set[int]:
    """Ids of responses that are chosen or rejected in a pair of the dataset (rows of its file)."""
    stmt = (select(PreferencePair.chosen_id, PreferencePair.rejected_id)
            .join(DatasetRecord, DatasetRecord.pair_id == PreferencePair.id)
            .where(DatasetRecord.dataset == dataset))
    with store.session() as s:
        return {rid for pair in s.execute(stmt).all() for rid in pair}


def labelled_items(store: Store, dataset: str = "evaluation_set",
                   train_dataset: str = RM_TRAIN_DATASET) -> list[LabelledItem]:
    """Every labelled response of a dataset, in import order, once each.

    Args:
        store: The store holding an import of the data.
        dataset: The dataset whose labels to read (the `labels.dataset` column).
        train_dataset: The reward-model training set; its pairs decide `seen_in_rm_train`.

    Returns:
        One item per labelled response (a repeated file row is one item); empty if none.
    """
    stmt = (select(Query.id, Response.id, Query.text, Response.text, Label.value)
            .join(Response, Response.id == Label.response_id)
            .join(Query, Query.id == Response.query_id)
            .where(Label.dataset == dataset).order_by(Label.id))
    seen = rm_train_response_ids(store, train_dataset)
    with store.session() as s:
        rows = s.execute(stmt).all()
    return [LabelledItem(qid, rid, q, r, int(v), len(r), rid in seen)
            for qid, rid, q, r, v in rows]


def split(items: Sequence[LabelledItem], fraction: float,
          seed: int = 0) -> tuple[list[LabelledItem], list[LabelledItem]]:
    """Split items by query, deterministically: one query's responses all land on one side.

    Queries are ordered by a hash of (seed, query text), so the split depends only on the texts
    and the seed, not on store ids or item order; the first round(fraction × queries) go first.

    Args:
        items: Labelled items.
        fraction: Share of the queries in the first part, between 0 and 1.
        seed: Different seeds give different splits.

    Returns:
        (first, second), each in the order of `items`.

    Raises:
        ValueError: `fraction` is outside [0, 1].
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    queries = sorted({i.query for i in items},
                     key=lambda q: hashlib.sha256(f"{seed}\x00{q}".encode()).hexdigest())
    first = set(queries[: round(fraction * len(queries))])
    return [i for i in items if i.query in first], [i for i in items if i.query not in first]


def curate_predictions(store: Store, run_id: int, items: Sequence[LabelledItem]) -> Predictions:
    """A curate run's final verdicts (status ok) for the labelled items; failed ones counted."""
    labelled = {i.response_id for i in items}
    preds = Predictions()
    with store.session() as s:
        verdicts = s.execute(select(Verdict.response_id, Verdict.status, Verdict.final_verdict)
                             .where(Verdict.run_id == run_id).order_by(Verdict.id)).all()
        held = s.scalars(select(RunItem.response_id).where(RunItem.run_id == run_id)).all()
    for rid, status, final in verdicts:
        if rid not in labelled:
            preds.outside += 1
        elif status == "ok" and final in (0, 1):
            preds.predicted[rid] = int(final)
            preds.failed.discard(rid)
        elif rid not in preds.predicted:
            preds.failed.add(rid)
    preds.unjudged = {rid for rid in held if rid in labelled} - preds.failed - set(preds.predicted)
    return preds


@dataclass(frozen=True)
class JudgeScope:
    """The settings a cached judgment is stored under (the `judgments` key minus the texts)."""

    principle_version_id: int
    model: str
    samples: int


def judge_run_scope(store: Store, run_id: int, config: dict[str, Any],
                    metrics: dict[str, Any]) -> JudgeScope | None:
    """The scope a judge run judged under: from its own judgments, else from its config/metrics.

    Returns None when neither says (no judgments with the run's id and no recorded settings).
    """
    stmt = (select(Judgment.principle_version_id, Judgment.model, Judgment.samples)
            .where(Judgment.run_id == run_id).distinct())
    with store.session() as s:
        found = s.execute(stmt).all()
    if len(found) == 1:
        return JudgeScope(*found[0])
    try:
        return JudgeScope(int(metrics["principle_version_id"]), str(config["llm"]["model"]),
                          int(config.get("samples", 1)))
    except (KeyError, TypeError, ValueError):
        return None


def judge_predictions(store: Store, run_id: int, items: Sequence[LabelledItem],
                      scope: JudgeScope | None = None) -> Predictions:
    """A judge run's judgments matched to labelled items by (query hash, response hash).

    Judgments are a cache: a judgment keeps the id of the run that first made it, and a failed
    one is not stored. So with `scope` (for a run that judged every item of the labelled
    dataset), the predictions are the judgments stored under that scope, and a labelled item
    without one counts as failed; without `scope`, only the judgments carrying `run_id` count.
    A judgment without a 0/1 verdict counts as failed; of two for one text, the latest wins.
    """
    by_key = {(text_hash(i.query), text_hash(i.response)): i.response_id for i in items}
    cols = (Judgment.query_hash, Judgment.response_hash, Judgment.verdict, Judgment.flagged)
    rows: list[Any] = []
    with store.session() as s:
        if scope is None:
            rows = list(s.execute(select(*cols).where(Judgment.run_id == run_id)
                                  .order_by(Judgment.id)).all())
        else:
            hashes = sorted({rh for _qh, rh in by_key})
            for start in range(0, len(hashes), _CHUNK):
                rows += s.execute(select(*cols).where(
                    Judgment.principle_version_id == scope.principle_version_id,
                    Judgment.model == scope.model, Judgment.samples == scope.samples,
                    Judgment.response_hash.in_(hashes[start:start + _CHUNK]),
                ).order_by(Judgment.id)).all()
    preds = Predictions()
    for qh, rh, verdict, flagged in rows:
        rid = by_key.get((qh, rh))
        if rid is None:
            if scope is None:  # under a scope, other texts' judgments belong to other runs
                preds.outside += 1
            continue
        if verdict in (0, 1):
            preds.predicted[rid] = int(verdict)
            preds.failed.discard(rid)
        else:
            preds.predicted.pop(rid, None)
            preds.failed.add(rid)
        (preds.flagged.add if flagged else preds.flagged.discard)(rid)
    if scope is not None:
        preds.failed |= set(by_key.values()) - set(preds.predicted)
    return preds


def rm_train_texts(store: Store, dataset: str = "rm_train") -> set[tuple[str, str]]:
    """(query, response) texts that are chosen or rejected in a pair of the RM training dataset."""
    ids = sorted(rm_train_response_ids(store, dataset))
    texts: set[tuple[str, str]] = set()
    with store.session() as s:
        for start in range(0, len(ids), 500):
            stmt = (select(Query.text, Response.text).join(Query, Query.id == Response.query_id)
                    .where(Response.id.in_(ids[start:start + 500])))
            texts |= {(q, r) for q, r in s.execute(stmt).all()}
    return texts
