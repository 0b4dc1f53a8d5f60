"""Read queries used by the app: item selection, texts for items, corpora, principle versions."""

from __future__ import annotations

import os
from typing import Any

from kindling.store.db import Store
from kindling.store.errors import EmptyDataError
from kindling.store.models import DatasetRecord, Query, Response, Run
from sqlalchemy import func, select


def dataset_response_items(store: Store, dataset: str, offset: int, limit: int | None) -> list[dict]:
    """Items judging a dataset's existing responses, in file order, one per distinct response."""
    stmt = (
        select(DatasetRecord.query_id, DatasetRecord.response_id)
        .where(DatasetRecord.dataset == dataset, DatasetRecord.response_id.is_not(None))
        .order_by(DatasetRecord.line)
    )
    with store.session() as s:
        rows = s.execute(stmt).all()
    seen: dict[int, dict] = {}
    for query_id, response_id in rows:
        assert response_id is not None  # filtered in the query
        seen.setdefault(response_id, {"item_key": f"r{response_id}", "query_id": query_id,
                                      "response_id": response_id})
    items = list(seen.values())[offset:]
    return items[:limit] if limit is not None else items


def dataset_query_items(
    store: Store, dataset: str, offset: int, limit: int | None, samples: int
) -> list[dict]:
    """Items generating `samples` candidates for each distinct query of a dataset."""
    stmt = select(DatasetRecord.query_id).where(DatasetRecord.dataset == dataset).order_by(
        DatasetRecord.line)
    with store.session() as s:
        query_ids = list(dict.fromkeys(s.scalars(stmt)))[offset:]
    if limit is not None:
        query_ids = query_ids[:limit]
    return [{"item_key": f"q{q}s{i}", "query_id": q, "response_id": None}
            for q in query_ids for i in range(samples)]


def texts_for(store: Store, query_ids: set[int], response_ids: set[int]) -> tuple[dict, dict]:
    """Query and response texts by id, in two queries."""
    with store.session() as s:
        queries = dict(s.execute(select(Query.id, Query.text).where(Query.id.in_(query_ids))).all())
        responses = dict(
            s.execute(select(Response.id, Response.text).where(Response.id.in_(response_ids))).all()
        ) if response_ids else {}
    return queries, responses


def corpus_pairs(store: Store, dataset: str) -> list[tuple[str, str]]:
    """(query, response) texts of a dataset, e.g. the SFT set as the exemplar corpus."""
    stmt = (
        select(Query.text, Response.text)
        .join(DatasetRecord, DatasetRecord.query_id == Query.id)
        .join(Response, Response.id == DatasetRecord.response_id)
        .where(DatasetRecord.dataset == dataset).order_by(DatasetRecord.line)
    )
    with store.session() as s:
        return [(q, r) for q, r in s.execute(stmt).all()]


def dataset_queries(store: Store, dataset: str) -> list[str]:
    """A dataset's query texts, one per row in file order (repeats kept)."""
    stmt = (select(Query.text).join(DatasetRecord, DatasetRecord.query_id == Query.id)
            .where(DatasetRecord.dataset == dataset).order_by(DatasetRecord.line))
    with store.session() as s:
        return list(s.scalars(stmt))


def dataset_names(store: Store) -> set[str]:
    """The names of the imported datasets."""
    with store.session() as s:
        return set(s.scalars(select(DatasetRecord.dataset).distinct()))


def import_run_ids(store: Store, *, finished: bool = False) -> list[int]:
    """Ids of the import runs (oldest first; only finished ones with `finished`)."""
    stmt = select(Run.id).where(Run.kind == "import").order_by(Run.id)
    if finished:
        stmt = stmt.where(Run.status == "finished")
    with store.session() as s:
        return list(s.scalars(stmt))


def latest_import_run(store: Store) -> int | None:
    """Id of the newest finished import of the paper's folder (it holds the paper's RM pairs;
    `data import --file` runs hold a user's file and are named by id), or None."""
    stmt = (select(Run.id, Run.config).where(Run.kind == "import", Run.status == "finished")
            .order_by(Run.id.desc()))
    with store.session() as s:
        return next((run_id for run_id, config in s.execute(stmt)
                     if "file" not in (config or {})), None)


def require_import_run(store: Store, instead: str = "") -> int:
    """`latest_import_run`, which must exist.

    Raises:
        EmptyDataError: no finished import of the paper's folder; `instead` names the flag or
            field that would have given a run instead.
    """
    run_id = latest_import_run(store)
    if run_id is None:
        raise EmptyDataError("no import run in the store: import first (`kindling data import`)"
                             + (f" or give {instead}" if instead else ""))
    return run_id


def finished_run(store: Store, kind: str, output_dir: str) -> Run | None:
    """The newest finished `kind` run that wrote `output_dir`, or None (folders compared as
    absolute paths: runs record absolute ones, older runs relative ones)."""
    stmt = select(Run).where(Run.kind == kind, Run.status == "finished").order_by(Run.id.desc())
    wanted = os.path.abspath(output_dir)
    with store.session() as s:
        return next((run for run in s.scalars(stmt)
                     if (out := (run.metrics or {}).get("output_dir"))
                     and os.path.abspath(out) == wanted), None)


def newest_run_into(store: Store, kind: str, output_dir: str) -> int | None:
    """The newest `kind` run (any status) whose config trains into `output_dir`, or None."""
    stmt = select(Run.id, Run.config).where(Run.kind == kind).order_by(Run.id.desc()).limit(50)
    wanted = os.path.abspath(output_dir)
    with store.session() as s:
        return next((run_id for run_id, config in s.execute(stmt)
                     if (out := ((config or {}).get("trl") or {}).get("output_dir"))
                     and os.path.abspath(str(out)) == wanted), None)


def newest_endpoint_check(store: Store, base_url: str, model: str
                          ) -> tuple[int, dict[str, Any]] | None:
    """(run id, metrics) of the newest finished `endpoint check` of `model` at `base_url`
    that measured latencies, or None."""
    stmt = (select(Run.id, Run.config, Run.metrics).where(Run.kind == "endpoint",
                                                          Run.status == "finished")
            .order_by(Run.id.desc()).limit(200))
    with store.session() as s:
        return next(((run_id, metrics or {}) for run_id, config, metrics in s.execute(stmt)
                     if (config or {}).get("base_url") == base_url
                     and (config or {}).get("model") == model
                     and (metrics or {}).get("latencies_ms")), None)


def dataset_row_count(store: Store, dataset: str) -> int:
    """How many records the store holds of `dataset`."""
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(DatasetRecord)
                        .where(DatasetRecord.dataset == dataset)) or 0
