"""GRPO's judge reward under budget.max_cost: once the judge's calls cost it, training stops (no
step is scored without the judge), the run is marked stopped with the reason; an unpriced judge
model is refused before any run."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.store.db import Store
from kindling.store.models import Run
from sqlalchemy import select

from tests.integration.test_train_grpo import (  # noqa: F401 - fixtures
    KEY_ENV,
    grpo,
    policy_dir,
    sqlite_store,
    write_config,
)
from tests.standin import StandinConfig, StandinServer

PRICES = ("models:\n  standin:\n    input: 1000\n    output: 1000\n"
          "    source: test\n    read_on: 2026-12-09\n")


def judge_section(base_url: str, budget: str) -> str:
    return (f"  judge:\n    llm: {{backend: openai, base_url: '{base_url}', model: standin,"
            f" api_key_env: {KEY_ENV}, timeout_s: 5, max_retries: 1, backoff_initial_s: 0.01,"
            f" backoff_max_s: 0.02}}\n    budget: {budget}\n")


def test_grpo_stops_when_the_judges_budget_is_spent(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, policy_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, "k")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prices.yaml").write_text(PRICES, encoding="utf-8")
    with StandinServer(StandinConfig(latency_s=0.01)) as server:
        extra = judge_section(server.base_url, "{max_cost: 0.5, prices: prices.yaml}")
        cfg = write_config(tmp_path, policy_dir, "{judge: 1.0}", extra=extra)
        result = grpo(sqlite_url, cfg, "trl.max_steps=20")
    assert result.exit_code == 2, result.output
    assert "budget spent: the run's LLM calls cost" in " ".join(result.output.split())
    with sqlite_store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == "grpo")).one()
    assert run.status == "stopped" and run.metrics["stopped"].startswith("budget spent")
    steps = [e for e in run.metrics.get("steps", []) if "reward" in e]
    assert len(steps) < 20  # stopped well before the end, no step scored without the judge


def test_grpo_refuses_an_unpriced_judge_model_before_the_run(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, policy_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, "k")
    monkeypatch.chdir(tmp_path)
    extra = judge_section("http://127.0.0.1:9/v1", "{max_cost: 0.5}")
    cfg = write_config(tmp_path, policy_dir, "{judge: 1.0}", extra=extra)
    result = grpo(sqlite_url, cfg)
    assert result.exit_code == 2
    assert ("kindling.judge.budget.max_cost: there is no price for model standin"
            in " ".join(result.output.split()))
    with sqlite_store.session() as s:
        assert s.scalars(select(Run).where(Run.kind == "grpo")).all() == []
