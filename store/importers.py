"""Write parsed, validated import items (the paper's data or a team's file) into the store.

Validation first, writes second: `ingest/` parses and checks every file before the store is
touched (`ingest.imports` calls `import_parsed`), and all writes happen in one transaction, so a
broken file or a conflict leaves nothing half-written. Rows are de-duplicated (queries by text
hash, responses by query and text hash, labels by response and dataset, pairs by chosen/rejected
among import runs) and each file row is recorded once as a `DatasetRecord` keyed by (dataset, line).

Re-running an import is a no-op: when every (dataset, line) is already recorded, no run row is made
either, so the store is exactly as before (`ImportReport.run_id` is then None). When something is
new, one `Run(kind="import")` holds the folder, the files' SHA-256 and the counts added.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kindling.store.db import Store
from kindling.store.errors import DataImportError
from kindling.store.import_items import Item, ParsedFolder
from kindling.store.models import (
    DatasetRecord,
    Label,
    PreferencePair,
    Query,
    Response,
    Run,
    text_hash,
    utcnow,
)
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

TABLES = {"queries": Query, "responses": Response, "labels": Label,
          "preference_pairs": PreferencePair, "dataset_records": DatasetRecord}
_CHUNK = 500
_PG_IMPORT_LOCK = 727275


@dataclass
class ImportReport:
    """What an import found and added. `run_id` is None when nothing was new."""

    run_id: int | None
    rows: dict[str, int]
    added: dict[str, int]
    tables: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    identical_pairs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def import_parsed(store: Store, parsed: ParsedFolder, config: dict[str, Any], *,
                  code_version: str, started: float | None = None) -> ImportReport:
    """Write parsed, validated items in one transaction (one import run holding `config`).

    Raises:
        DataImportError: a row conflicts with what the store holds; nothing written.
    """
    started = time.perf_counter() if started is None else started
    rows = {name: len(items) for name, items in parsed.items.items()}
    report = ImportReport(None, rows, dict.fromkeys(rows, 0))
    report.identical_pairs = {
        name: n for name, items in parsed.items.items()
        if (n := sum(1 for i in items if i.rejected is not None and i.rejected == i.response))
    }
    with store.session() as session:
        _lock_for_import(session)
        new = _unrecorded(session, parsed)
        if new:
            run = Run(kind="import", status="running", code_version=code_version, config=config)
            session.add(run)
            session.flush()
            _write(session, new, run.id, report, parsed)
            run.status, run.finished_at = "finished", utcnow()
            run.metrics = {"rows": report.rows, "added": report.added, "tables": report.tables,
                           "identical_pairs": report.identical_pairs}
            report.run_id = run.id
    report.seconds = time.perf_counter() - started
    return report


def dataset_counts(store: Store) -> dict[str, int]:
    """Number of `DatasetRecord` rows per dataset in the store."""
    with store.session() as session:
        stmt = select(DatasetRecord.dataset, func.count()).group_by(DatasetRecord.dataset)
        return {name: n for name, n in session.execute(stmt).all()}


def _lock_for_import(session: Session) -> None:
    """Serialize imports: a Postgres advisory lock, or SQLite's write lock taken up front."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({_PG_IMPORT_LOCK})"))
    else:
        # A write that matches nothing still takes SQLite's write lock (and starts the transaction).
        session.execute(text("UPDATE runs SET kind = kind WHERE 1 = 0"))


def _lookup(session: Session, columns: Sequence[Any], key: Any, values: Iterable[Any],
            *where: Any) -> list[Any]:
    """Rows of `columns` whose `key` is in `values`, selected in chunks (no query per row)."""
    wanted = sorted(set(values))
    found: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        found.extend(session.execute(select(*columns).where(key.in_(chunk), *where)).all())
    return found


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]],
            returning: Sequence[Any]) -> list[Any]:
    """Bulk insert `rows`, returning `returning` columns of the new rows."""
    if not rows:
        return []
    # Core insert with RETURNING: batched "insertmanyvalues" statements on SQLite and Postgres,
    # much less per-row work than the ORM's bulk insert or a plain executemany.
    table = model.__table__
    stmt = insert(table).returning(*(table.c[col.key] for col in returning))
    return list(session.execute(stmt, rows).all())


def _unrecorded(session: Session, parsed: ParsedFolder) -> list[Item]:
    """Items whose (dataset, line) the store lacks; error if recorded with another query."""
    stmt = (select(DatasetRecord.dataset, DatasetRecord.line, Query.text_hash)
            .join(Query, Query.id == DatasetRecord.query_id)
            .where(DatasetRecord.dataset.in_(list(parsed.items))))
    recorded = {(d, n): h for d, n, h in session.execute(stmt).all()}
    new = []
    for name, items in parsed.items.items():
        for item in items:
            known = recorded.get((name, item.line))
            if known is None:
                new.append(item)
            elif known != text_hash(item.query):
                raise _conflict(parsed, item, "query", "the store holds a different query for "
                                f"this line of dataset {name!r} (did the file change?)")
    return new


def _conflict(parsed: ParsedFolder, item: Item, field_name: str, message: str) -> DataImportError:
    where = {"line" if item.dataset in parsed.line_numbered else "row": item.line}
    return DataImportError(parsed.paths[item.dataset], message, field=field_name, **where)


class _Ids:
    """Ids of the queries and responses an import refers to, by content hash."""

    def __init__(self) -> None:
        self.queries: dict[str, int] = {}
        self.responses: dict[tuple[int, str], int] = {}
        self._hashes: dict[str, str] = {}

    def hash(self, body: str) -> str:
        """`text_hash`, memoized (each text is looked up several times)."""
        if (digest := self._hashes.get(body)) is None:
            digest = self._hashes[body] = text_hash(body)
        return digest

    def query(self, item: Item) -> int:
        return self.queries[self.hash(item.query)]

    def response(self, item: Item, body: str) -> int:
        return self.responses[(self.query(item), self.hash(body))]


def _write(session: Session, items: list[Item], run_id: int, report: ImportReport,
           parsed: ParsedFolder) -> None:
    ids = _Ids()
    _ensure_queries(session, items, ids, report)
    _ensure_responses(session, items, ids, run_id, report)
    _ensure_labels(session, items, ids, report, parsed)
    pairs = _ensure_pairs(session, items, ids, run_id, report)
    records = []
    for item in items:
        pair_id = response_id = None
        if item.rejected is not None and item.response is not None:
            pair_id = pairs[(ids.response(item, item.response), ids.response(item, item.rejected))]
        elif item.response is not None:
            response_id = ids.response(item, item.response)
        records.append({"dataset": item.dataset, "line": item.line, "query_id": ids.query(item),
                        "response_id": response_id, "pair_id": pair_id, "run_id": run_id,
                        "extra": item.extra})
        report.added[item.dataset] += 1
    _insert(session, DatasetRecord, records, (DatasetRecord.id,))
    report.tables["dataset_records"] = len(records)


def _ensure_queries(session: Session, items: list[Item], ids: _Ids, report: ImportReport) -> None:
    texts = {ids.hash(i.query): i.query for i in items}
    ids.queries = dict(_lookup(session, (Query.text_hash, Query.id), Query.text_hash, texts))
    missing = [{"text": t, "text_hash": h} for h, t in texts.items() if h not in ids.queries]
    ids.queries.update(_insert(session, Query, missing, (Query.text_hash, Query.id)))
    report.tables["queries"] = len(missing)


def _ensure_responses(session: Session, items: list[Item], ids: _Ids, run_id: int,
                      report: ImportReport) -> None:
    wanted: dict[tuple[int, str], str] = {}
    for item in items:
        for body in (item.response, item.rejected):
            if body is not None:
                wanted[(ids.query(item), ids.hash(body))] = body
    cols = (Response.query_id, Response.text_hash, Response.id)
    found = _lookup(session, cols, Response.text_hash, [h for _, h in wanted])
    ids.responses = {(q, h): rid for q, h, rid in found if (q, h) in wanted}
    missing = [{"query_id": q, "text": body, "text_hash": h, "origin": "dataset", "model": None,
                "run_id": run_id} for (q, h), body in wanted.items() if (q, h) not in ids.responses]
    ids.responses.update({(q, h): rid for q, h, rid in _insert(session, Response, missing, cols)})
    report.tables["responses"] = len(missing)


def _ensure_labels(session: Session, items: list[Item], ids: _Ids, report: ImportReport,
                   parsed: ParsedFolder) -> None:
    wanted: dict[tuple[int, str], Item] = {}
    for item in items:
        if item.label is not None and item.response is not None:
            wanted.setdefault((ids.response(item, item.response), item.dataset), item)
    cols = (Label.response_id, Label.dataset, Label.value)
    stored = {(r, d): v for r, d, v in _lookup(session, cols, Label.response_id,
                                                [r for r, _ in wanted])}
    for key, item in wanted.items():
        if key in stored and stored[key] != item.label:
            raise _conflict(parsed, item, "label", f"label {item.label} contradicts label "
                            f"{stored[key]} already stored for this response in {item.dataset!r}")
    missing = [{"response_id": r, "dataset": d, "value": item.label}
               for (r, d), item in wanted.items() if (r, d) not in stored]
    _insert(session, Label, missing, (Label.id,))
    report.tables["labels"] = len(missing)


def _ensure_pairs(session: Session, items: list[Item], ids: _Ids, run_id: int,
                  report: ImportReport) -> dict[tuple[int, int], int]:
    """Preference pairs of the reward-model files, reusing those of earlier import runs."""
    wanted: dict[tuple[int, int], dict[str, Any]] = {}
    for item in items:
        if item.rejected is not None and item.response is not None:
            key = (ids.response(item, item.response), ids.response(item, item.rejected))
            wanted.setdefault(key, {"run_id": run_id, "query_id": ids.query(item),
                                    "chosen_id": key[0], "rejected_id": key[1],
                                    "evidence": {"dataset": item.dataset, "line": item.line}})
    cols = (PreferencePair.chosen_id, PreferencePair.rejected_id, PreferencePair.id)
    found = _lookup(session, cols, PreferencePair.chosen_id, [c for c, _ in wanted],
                    PreferencePair.run_id.in_(select(Run.id).where(Run.kind == "import")))
    pairs = {(c, r): pid for c, r, pid in found if (c, r) in wanted}
    missing = [row for key, row in wanted.items() if key not in pairs]
    pairs.update({(c, r): pid for c, r, pid in _insert(session, PreferencePair, missing, cols)})
    report.tables["preference_pairs"] = len(missing)
    return pairs
