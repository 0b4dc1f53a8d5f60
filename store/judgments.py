"""The judge's cache: one `judgments` row per (principle version, model, query, response, samples).

Reads are one batched SELECT per batch of items; writes are batched INSERT ... ON CONFLICT DO
NOTHING, so two workers judging the same text at once both succeed and one row is kept.
Only successful judgments (and guard-flagged ones) are stored: a failed call is not cached, so a
rerun asks again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kindling.store.db import Store
from kindling.store.models import Judgment, text_hash
from kindling.store.upsert import insert_ignore
from sqlalchemy import Connection, select

SELECT_CHUNK = 500  # hashes per IN (...) list: far below SQLite's and PostgreSQL's bind limits


@dataclass(frozen=True)
class JudgmentScope:
    """The settings a cached judgment is valid under (every key field but the texts)."""

    principle_version_id: int
    model: str
    samples: int


@dataclass(frozen=True)
class CachedJudgment:
    verdict: int | None
    score: float | None
    reason: str | None
    flagged: bool


TextKey = tuple[str, str]  # (query hash, response hash)


def text_key(query: str, response: str) -> TextKey:
    """The cache key of a (query, response) pair within a scope: the two texts' SHA-256."""
    return text_hash(query), text_hash(response)


def lookup(store: Store, scope: JudgmentScope, keys: Iterable[TextKey]) -> dict[TextKey, CachedJudgment]:
    """Stored judgments for these keys under `scope`, in one SELECT per 500 distinct responses.

    Args:
        store: the store.
        scope: principle version, model and sample count the judgments must match.
        keys: (query hash, response hash) pairs.

    Returns:
        The keys found, each with its stored judgment.
    """
    wanted = set(keys)
    by_response = sorted({rh for _qh, rh in wanted})
    found: dict[TextKey, CachedJudgment] = {}
    if not by_response:
        return found
    cols = (Judgment.query_hash, Judgment.response_hash, Judgment.verdict, Judgment.score,
            Judgment.reason, Judgment.flagged)
    with store.session() as s:
        for start in range(0, len(by_response), SELECT_CHUNK):
            stmt = select(*cols).where(
                Judgment.principle_version_id == scope.principle_version_id,
                Judgment.model == scope.model, Judgment.samples == scope.samples,
                Judgment.response_hash.in_(by_response[start : start + SELECT_CHUNK]),
            )
            for qh, rh, verdict, score, reason, flagged in s.execute(stmt):
                if (qh, rh) in wanted:
                    found[(qh, rh)] = CachedJudgment(verdict, score, reason, flagged)
    return found


def judgment_row(
    scope: JudgmentScope, query: str, response: str, key: TextKey, result: CachedJudgment,
    run_id: int | None,
) -> dict[str, Any]:
    """A `judgments` row for one result (to be written with `write`)."""
    return {
        "principle_version_id": scope.principle_version_id, "model": scope.model,
        "samples": scope.samples, "query_hash": key[0], "response_hash": key[1],
        "query": query, "response": response, "verdict": result.verdict, "score": result.score,
        "reason": result.reason, "flagged": result.flagged, "run_id": run_id,
    }


def write(
    store: Store, rows: Sequence[dict[str, Any]],
    also: Callable[[Connection], None] | None = None,
) -> None:
    """Insert judgments (existing keys are kept as they are), in one transaction.

    Args:
        store: the store.
        rows: rows made by `judgment_row`.
        also: optional callable taking the transaction's Connection, run in the same transaction
            (e.g. `CallLog.flush`, so judgments never exist without their agent calls).
    """
    if not rows and also is None:
        return
    with store.session() as s:
        insert_ignore(s, Judgment, list(rows))
        if also is not None:
            also(s.connection())
