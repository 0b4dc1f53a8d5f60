"""A run whose command ends early is stopped (interrupted) or failed (an error), never left
running, unless another worker still works on it; a rerun reopens it."""

from __future__ import annotations

import asyncio

from kindling.store import work
from kindling.store.db import Store
from kindling.store.models import Query, Run, RunItem
from kindling.store.run_endings import end_run_early


def run_with_items(store: Store, n: int) -> int:
    with store.session() as s:
        query = Query(text="q", text_hash="h")
        s.add(query)
        s.flush()
        qid = query.id
    run, _ = work.get_or_create_run(store, kind="curate", run_key="k", config={},
                                    code_version="t")
    work.add_items(store, run.id, [{"item_key": f"i{i}", "query_id": qid, "response_id": None}
                                   for i in range(n)])
    return run.id


def status(store: Store, run_id: int) -> tuple[str, dict]:
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        return run.status, dict(run.metrics or {})


def test_interrupted_is_stopped_and_items_are_given_back(sqlite_store: Store) -> None:
    run_id = run_with_items(sqlite_store, 3)
    work.claim_items(sqlite_store, run_id, "me", 2, lease_s=600)
    assert end_run_early(sqlite_store, run_id, KeyboardInterrupt(), worker="me") == "stopped"
    state, metrics = status(sqlite_store, run_id)
    assert state == "stopped" and "interrupted" in metrics["stopped"]
    assert work.item_counts(sqlite_store, run_id) == {"pending": 3}
    run, created = work.get_or_create_run(sqlite_store, kind="curate", run_key="k", config={},
                                          code_version="t")
    work.reopen_run(sqlite_store, run.id)  # what curate does on finding its run again
    assert not created and status(sqlite_store, run_id)[0] == "running"


def test_an_error_is_failed_and_a_cancelled_task_is_stopped(sqlite_store: Store) -> None:
    run_id = run_with_items(sqlite_store, 1)
    assert end_run_early(sqlite_store, run_id, RuntimeError("boom")) == "failed"
    assert status(sqlite_store, run_id)[1]["error"] == "RuntimeError: boom"
    assert end_run_early(sqlite_store, run_id, asyncio.CancelledError()) == "failed"  # kept
    work.reopen_run(sqlite_store, run_id)
    assert end_run_early(sqlite_store, run_id, asyncio.CancelledError()) == "stopped"


def test_a_run_another_worker_holds_items_of_keeps_running(sqlite_store: Store) -> None:
    run_id = run_with_items(sqlite_store, 4)
    work.claim_items(sqlite_store, run_id, "me", 2, lease_s=600)
    work.claim_items(sqlite_store, run_id, "other", 2, lease_s=600)
    assert end_run_early(sqlite_store, run_id, KeyboardInterrupt(), worker="me") == "running"
    with sqlite_store.session() as s:
        held = dict(s.execute(RunItem.__table__.select()
                              .with_only_columns(RunItem.item_key, RunItem.worker)).all())
    assert sorted(w for w in held.values() if w) == ["other", "other"]
