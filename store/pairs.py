"""Preference pairs: build them from a curate run's verdicts, read them for export."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from kindling.store.db import Store
from kindling.store.models import DatasetRecord, PreferencePair, Query, Response, Run, Verdict
from kindling.store.upsert import insert_ignore
from sqlalchemy import func, select
from sqlalchemy.orm import aliased


@dataclass(frozen=True)
class JudgedCandidate:
    verdict_id: int
    query_id: int
    response_id: int
    good: bool


def pair_up(judged: list[JudgedCandidate], max_per_query: int | None) -> list[dict]:
    """Every judged-good × judged-bad candidate of the same query, at most `max_per_query` each.

    Pure function: the order is deterministic (by verdict id), so rebuilding gives the same pairs.
    """
    by_query: dict[int, list[JudgedCandidate]] = defaultdict(list)
    for j in sorted(judged, key=lambda j: j.verdict_id):
        by_query[j.query_id].append(j)
    pairs = []
    for query_id, group in by_query.items():
        good = [j for j in group if j.good]
        bad = [j for j in group if not j.good]
        distinct = ((g, b) for g, b in itertools.product(good, bad)
                    if g.response_id != b.response_id)
        for g, b in itertools.islice(distinct, max_per_query):
            pairs.append({"query_id": query_id, "chosen_id": g.response_id,
                          "rejected_id": b.response_id,
                          "evidence": {"chosen_verdict_id": g.verdict_id,
                                       "rejected_verdict_id": b.verdict_id}})
    return pairs


def judged_candidates(store: Store, curate_run_id: int) -> list[JudgedCandidate]:
    stmt = select(Verdict.id, Verdict.query_id, Verdict.response_id, Verdict.final_verdict).where(
        Verdict.run_id == curate_run_id, Verdict.status == "ok", Verdict.response_id.is_not(None))
    with store.session() as s:
        rows = s.execute(stmt).all()
    return [JudgedCandidate(i, q, r, v == 1) for i, q, r, v in rows if r is not None]


def save_pairs(store: Store, pairs_run_id: int, source_run_id: int, pairs: list[dict]) -> int:
    """Insert pairs for a pairs run (idempotent); returns the run's pair count."""
    rows = [{**p, "run_id": pairs_run_id, "source_run_id": source_run_id} for p in pairs]
    with store.session() as s:
        insert_ignore(s, PreferencePair, rows)
        return s.scalar(select(func.count()).where(PreferencePair.run_id == pairs_run_id)) or 0


def iter_pair_texts(store: Store, run_id: int) -> Iterator[tuple[str, str, str]]:
    """(prompt, chosen, rejected) texts of a run's pairs (a pairs run or an import run)."""
    chosen, rejected = aliased(Response), aliased(Response)
    stmt = (
        select(Query.text, chosen.text, rejected.text)
        .join(PreferencePair, PreferencePair.query_id == Query.id)
        .join(chosen, chosen.id == PreferencePair.chosen_id)
        .join(rejected, rejected.id == PreferencePair.rejected_id)
        .where(PreferencePair.run_id == run_id).order_by(PreferencePair.id)
    )
    with store.session() as s:
        yield from s.execute(stmt).all()


def dataset_pair_texts(store: Store, run_id: int, dataset: str) -> Iterator[tuple[str, str, str]]:
    """(prompt, chosen, rejected) texts of a run's pairs that a dataset records (e.g. rm_test)."""
    chosen, rejected = aliased(Response), aliased(Response)
    in_dataset = select(DatasetRecord.pair_id).where(DatasetRecord.dataset == dataset,
                                                     DatasetRecord.pair_id.is_not(None))
    stmt = (
        select(Query.text, chosen.text, rejected.text)
        .join(PreferencePair, PreferencePair.query_id == Query.id)
        .join(chosen, chosen.id == PreferencePair.chosen_id)
        .join(rejected, rejected.id == PreferencePair.rejected_id)
        .where(PreferencePair.run_id == run_id, PreferencePair.id.in_(in_dataset))
        .order_by(PreferencePair.id)
    )
    with store.session() as s:
        yield from ((p, c, r) for p, c, r in s.execute(stmt).all())


def run_kind(store: Store, run_id: int) -> str | None:
    """The run's kind (None: no such run, an id out of the store's range included)."""
    from kindling.store.reports import run_id_fits

    if not run_id_fits(run_id, store.dialect):
        return None
    with store.session() as s:
        run = s.get(Run, run_id)
        return run.kind if run else None
