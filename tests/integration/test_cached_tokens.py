"""Cached input tokens per agent call: migration 0005 on an older store (SQLite and PostgreSQL),
the count read from OpenAI's and DeepSeek's usage over real HTTP, and priced at the cached rate."""

from __future__ import annotations

import pytest
from kindling.configs import shipped_configs
from kindling.store.costs import run_cost
from kindling.store.db import Store
from kindling.store.models import AgentCall
from kindling.store.prices import load_prices
from sqlalchemy import create_engine, inspect, select, text

from kindling.services.curate import CurateRunner
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.standin import StandinConfig, StandinServer
from tests.unit.test_store_ownership import upgrade_to

SHIPPED = shipped_configs() / "prices.yaml"
STANDIN_PRICE = {"models": {"standin": {"input": 1.0, "cached_input": 0.1, "output": 2.0,
                                        "source": "test", "read_on": "2026-12-09"}}}
OLD_CALL = ("INSERT INTO runs (kind, config, status, code_version, started_at, metrics) VALUES "
            "('curate', '{}', 'finished', 't', CURRENT_TIMESTAMP, '{}')")


@pytest.mark.parametrize("backend", ["sqlite_url", "pg_url"])
def test_migration_adds_cached_tokens_and_keeps_old_calls(backend: str, request) -> None:
    url = request.getfixturevalue(backend)
    upgrade_to(url, "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_CALL))
        run_id = conn.execute(text("SELECT max(id) FROM runs")).scalar_one()
        conn.execute(text(
            "INSERT INTO agent_calls (run_id, item_key, role, template, template_hash, model, "
            "input, latency_ms, prompt_tokens, completion_tokens, attempt, created_at) VALUES "
            "(:run, 'q1', 'judge', 't', 'h', 'gpt-4o', '[]', 1.0, 1000000, 0, 1, "
            "CURRENT_TIMESTAMP)"), {"run": run_id})
    engine.dispose()
    store = Store(url)
    try:
        columns = {c["name"] for c in inspect(store.engine).get_columns("agent_calls")}
        assert "cached_tokens" in columns
        with store.session() as s:
            assert s.scalars(select(AgentCall.cached_tokens)).all() == [None]
        cost = run_cost(store, run_id, load_prices(SHIPPED))
        assert cost.total == pytest.approx(2.50)  # not recorded: priced as input
        assert cost.roles[0].cached_tokens is None
    finally:
        store.close()


@pytest.mark.parametrize("dialect", ["openai", "deepseek"])
async def test_cached_tokens_are_recorded_and_priced_at_the_cached_rate(
        sqlite_store: Store, monkeypatch, dialect: str) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(3))
    with StandinServer(StandinConfig(dialect=dialect, cached_tokens=20)) as server:
        cfg = http_config(server.base_url, concurrency=2)
        outcome = await CurateRunner(sqlite_store, cfg, show_progress=False).run()
    assert outcome.counts == {"done": 3}
    with sqlite_store.session() as s:
        rows = s.execute(select(AgentCall.prompt_tokens, AgentCall.cached_tokens,
                                AgentCall.completion_tokens)
                         .where(AgentCall.run_id == outcome.run_id,
                                AgentCall.prompt_tokens.is_not(None))).all()
    assert rows and all(cached == min(20, prompt) for prompt, cached, _ in rows)
    cost = run_cost(sqlite_store, outcome.run_id, load_prices(SHIPPED, STANDIN_PRICE))
    prompt = sum(r[0] for r in rows)
    cached = sum(r[1] for r in rows)
    completion = sum(r[2] for r in rows)
    expected = ((prompt - cached) * 1.0 + cached * 0.1 + completion * 2.0) / 1_000_000
    assert cost.total == pytest.approx(expected)
    assert sum(r.cached_tokens or 0 for r in cost.roles) == cached


async def test_an_endpoint_that_reports_no_cache_leaves_the_count_unrecorded(
        sqlite_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(1))
    with StandinServer(StandinConfig()) as server:
        outcome = await CurateRunner(sqlite_store, http_config(server.base_url),
                                     show_progress=False).run()
    with sqlite_store.session() as s:
        cached = s.scalars(select(AgentCall.cached_tokens)
                           .where(AgentCall.run_id == outcome.run_id)).all()
    assert cached and set(cached) == {None}
