"""A run's cost per role from its stored agent calls, and `kindling runs show` printing it."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.configs import shipped_configs
from kindling.store.costs import run_cost
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from kindling.store.prices import load_prices
from typer.testing import CliRunner

from kindling.cli import app

SHIPPED = shipped_configs() / "prices.yaml"


def _call(run_id: int, role: str, model: str, prompt: int | None, completion: int | None,
          error: str | None = None) -> AgentCall:
    return AgentCall(run_id=run_id, item_key="q1", role=role, template="t.jinja",
                     template_hash="h", model=model, input=[], latency_ms=10.0,
                     prompt_tokens=prompt, completion_tokens=completion, attempt=1, error=error)


def seed_run(store: Store, calls: list[tuple[str, str, int | None, int | None]],
             config: dict | None = None, kind: str = "curate") -> int:
    with store.session() as s:
        run = Run(kind=kind, config=config or {}, status="finished", code_version="t",
                  name="costly")
        s.add(run)
        s.flush()
        s.add_all(_call(run.id, *c) for c in calls)
        s.commit()
        return run.id


def test_cost_per_role_and_total(sqlite_store: Store) -> None:
    run_id = seed_run(sqlite_store, [
        ("judge", "gpt-4o", 1_000_000, 100_000),         # 2.50 + 1.00
        ("judge", "gpt-4o", None, None),                 # a failed attempt, no usage
        ("advocate", "deepseek-chat", 2_000_000, 1_000_000),  # 0.56 + 0.42
    ])
    cost = run_cost(sqlite_store, run_id, load_prices(SHIPPED))
    by_role = {r.role: r for r in cost.roles}
    assert by_role["judge"].calls == 2 and by_role["judge"].prompt_tokens == 1_000_000
    assert by_role["judge"].cost == pytest.approx(3.50)
    assert by_role["advocate"].cost == pytest.approx(0.98)
    assert cost.total == pytest.approx(4.48) and cost.currency == "USD"
    assert not cost.unpriced


def test_an_unknown_model_makes_the_cost_unknown_not_zero(sqlite_store: Store) -> None:
    run_id = seed_run(sqlite_store, [("judge", "gpt-4o", 1000, 1000),
                                     ("critic", "my-private-model", 1000, 1000)])
    cost = run_cost(sqlite_store, run_id, load_prices(SHIPPED))
    by_role = {r.role: r for r in cost.roles}
    assert by_role["critic"].cost is None and by_role["judge"].cost is not None
    assert cost.total is None and cost.unpriced == {"my-private-model"}


def test_a_local_backend_costs_nothing(sqlite_store: Store) -> None:
    config = {"llm": {"backend": "local", "model": "qwen-gguf"}}
    run_id = seed_run(sqlite_store, [("judge", "qwen-gguf", 5000, 5000)], config)
    from kindling.store.prices import local_models_in
    cost = run_cost(sqlite_store, run_id, load_prices(SHIPPED, local_models=local_models_in(config)))
    assert cost.total == 0.0


CALLS = [("judge", "gpt-4o", 1_000_000, 100_000),
         ("advocate", "deepseek-chat", 2_000_000, 1_000_000),
         ("critic", "my-private-model", 10, 10)]


def test_runs_show_adds_the_cost_to_a_curate_runs_call_table(sqlite_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store(sqlite_url)
    run_id = seed_run(store, CALLS)
    store.close()
    shown = CliRunner().invoke(app, ["--db-url", sqlite_url, "runs", "show", str(run_id)],
                               terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "cost USD" in shown.output
    judge = next(line for line in shown.output.splitlines() if "judge" in line and "3.5" in line)
    assert "3.5000" in judge and "1000000" in judge and "100000" in judge
    assert "USD" not in judge  # the currency is in the header
    assert "cost in all: unknown" in shown.output
    assert "no price for model my-private-model (add it to prices.yaml)" in shown.output


def test_runs_show_prints_the_cost_per_role(sqlite_url: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./configs/prices.yaml here
    store = Store(sqlite_url)
    run_id = seed_run(store, CALLS, kind="adversarial")
    store.close()
    cli = CliRunner()
    shown = cli.invoke(app, ["--db-url", sqlite_url, "runs", "show", str(run_id)],
                       terminal_width=200)
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert f"cost of run {run_id}" in out
    judge = next(line for line in out.splitlines() if "judge" in line and "USD" in line)
    assert "3.5000" in judge and "1000000" in judge and "100000" in judge
    assert "0.9800 USD" in out
    assert "no price for model my-private-model (add it to prices.yaml)" in out
    assert "unknown" in out  # the critic's and the total's cost

    user = tmp_path / "mine.yaml"
    user.write_text("models:\n  my-private-model:\n    input: 1000000\n    output: 0\n"
                    "    source: contract\n    read_on: 2026-12-06\n", encoding="utf-8")
    priced = cli.invoke(app, ["--db-url", sqlite_url, "runs", "show", str(run_id),
                              "--prices", str(user)], terminal_width=200)
    assert priced.exit_code == 0, priced.output
    assert "no price for model" not in priced.output
    assert "14.4800 USD" in priced.output  # 3.50 + 0.98 + 10 tokens × 1M/M

    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  x:\n    input: cheap\n", encoding="utf-8")
    refused = cli.invoke(app, ["--db-url", sqlite_url, "runs", "show", str(run_id),
                               "--prices", str(bad)], terminal_width=200)
    assert refused.exit_code == 2
    assert "bad.yaml:3: field models.x.input" in refused.output
