"""GRPO completion samples in the store: migration 0006 on an older store, and the round trip
(one step in one transaction, texts cut to their bound, a step written twice kept once) on
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from kindling.store import completion_samples as cs
from kindling.store import work
from kindling.store.db import Store
from sqlalchemy import create_engine, inspect, text

from tests.unit.test_store_ownership import upgrade_to

OLD_RUN = ("INSERT INTO runs (kind, config, status, code_version, started_at, metrics) VALUES "
           "('grpo', '{}', 'finished', 't', CURRENT_TIMESTAMP, '{}')")


def row(position: int, completion: str, **extra) -> cs.SampleRow:
    return cs.SampleRow(position=position, prompt="写一条生日祝福", completion=completion,
                        rewards={"rm": 1.5, "judge": None}, reward=1.5, advantage=-0.25,
                        chars=len(completion), tokens=12, hit_cap=False) | extra  # type: ignore[return-value]


@pytest.mark.parametrize("backend", ["sqlite_url", "pg_url"])
def test_migration_adds_the_table_and_keeps_old_runs(backend: str, request) -> None:
    url = request.getfixturevalue(backend)
    upgrade_to(url, "0005")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_RUN))
        run_id = conn.execute(text("SELECT max(id) FROM runs")).scalar_one()
    engine.dispose()
    store = Store(url)
    try:
        assert "completion_samples" in inspect(store.engine).get_table_names()
        assert cs.sampled_steps(store, run_id) == []
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite_store", "pg_store"])
def test_samples_round_trip_one_step_at_a_time(backend: str, request) -> None:
    store: Store = request.getfixturevalue(backend)
    run, _ = work.get_or_create_run(store, kind="grpo", run_key=None, config={},
                                    code_version="t")
    long = "祝" * 500
    cs.write_step_samples(store, run.id, 3, [row(5, long, hit_cap=True, tokens=64),
                                             row(0, "生日快乐 <b>!</b>")], max_chars=100)
    cs.write_step_samples(store, run.id, 1, [row(0, "你好")])
    cs.write_step_samples(store, run.id, 3, [row(0, "written again")])  # kept as it was
    assert cs.sampled_steps(store, run.id) == [1, 3]
    assert sum(len(cs.step_samples(store, run.id, step)) for step in (1, 3)) == 3
    first, second = cs.step_samples(store, run.id, 3)
    assert first["position"] == 0 and first["completion"] == "生日快乐 <b>!</b>"
    assert first["rewards"] == {"rm": 1.5, "judge": None} and first["advantage"] == -0.25
    assert second["completion"] == "祝" * 99 + "…" and second["chars"] == 500
    assert (second["tokens"], second["hit_cap"]) == (64, True)
    assert cs.step_samples(store, run.id, 2) == []


def test_a_failed_step_leaves_nothing(sqlite_store: Store) -> None:
    run, _ = work.get_or_create_run(sqlite_store, kind="grpo", run_key=None, config={},
                                    code_version="t")
    broken = row(1, "ok") | {"chars": None}  # NOT NULL: the insert fails on the second row
    with pytest.raises(Exception):  # noqa: B017 - the database's own integrity error
        cs.write_step_samples(sqlite_store, run.id, 4, [row(0, "first"), broken])  # type: ignore[list-item]
    assert cs.sampled_steps(sqlite_store, run.id) == []
