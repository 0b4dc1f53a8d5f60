"""Budgets in money over real HTTP (the stand-in server): a curate run and a judge run stop once
their calls cost budget.max_cost, marked stopped with the reason; the same command with a raised
budget resumes the same run (no stored call asked again) and finishes it; a model with no price
is refused before any run exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.helpers import make_items
from tests.standin import StandinConfig, StandinServer

KEY_ENV = "KINDLING_TEST_KEY"
PRICES = ("models:\n  standin:\n    input: 1000\n    cached_input: 100\n    output: 1000\n"
          "    source: test\n    read_on: 2026-12-09\n")  # about 0.1-0.5 USD a call


def write_config(folder: Path, base_url: str, body: str) -> Path:
    (folder / "prices" ).mkdir(exist_ok=True)
    (folder / "prices" / "standin.yaml").write_text(PRICES, encoding="utf-8")
    path = folder / "run.yaml"
    path.write_text(
        f"{body}llm:\n  backend: openai\n  base_url: '{base_url}'\n  model: standin\n"
        f"  api_key_env: {KEY_ENV}\n  timeout_s: 5\n  max_retries: 1\n  max_concurrency: 2\n"
        "budget:\n  max_cost: 1.0\n  prices: prices/standin.yaml\n", encoding="utf-8")
    return path


def invoke(url: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db-url", url, *args], terminal_width=200)


def runs_of(store: Store, kind: str) -> list[Run]:
    with store.session() as s:
        return list(s.scalars(select(Run).where(Run.kind == kind).order_by(Run.id)))


def calls_of(store: Store, run_id: int) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).where(AgentCall.run_id == run_id)) or 0


def test_curate_stops_at_its_budget_and_resumes_with_a_raised_one(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k")
    monkeypatch.chdir(tmp_path)
    store = Store(sqlite_url)
    seed_tiny_data(store, make_items(6))
    with StandinServer(StandinConfig(cached_tokens=10)) as server:
        cfg = write_config(tmp_path, server.base_url, "concurrency: 2\n")
        stopped = invoke(sqlite_url, "curate", "--config", str(cfg), "--no-progress")
        assert stopped.exit_code == 2, stopped.output
        assert "budget spent: the run's LLM calls cost" in stopped.output
        assert "of 1 USD (budget.max_cost); raise budget.max_cost (--max-cost)" in stopped.output
        [run] = runs_of(store, "curate")
        assert run.status == "stopped" and run.metrics["stopped"].startswith("budget spent")
        first = calls_of(store, run.id)
        sent = server.stats()["total"]
        assert 0 < first == sent < 6 * 4  # stopped before every item's calls were made

        again = invoke(sqlite_url, "curate", "--config", str(cfg), "--no-progress")
        assert again.exit_code == 2 and "budget spent" in again.output  # still spent: no call
        assert server.stats()["total"] == sent

        resumed = invoke(sqlite_url, "curate", "--config", str(cfg), "--no-progress",
                         "--max-cost", "1000")
        assert resumed.exit_code == 0, resumed.output
    [run] = runs_of(store, "curate")  # the same run, resumed
    assert run.status == "finished" and run.config["budget"]["max_cost"] == 1000
    with store.session() as s:
        items = s.scalar(select(func.count()).select_from(AgentCall)
                         .where(AgentCall.run_id == run.id, AgentCall.role == "reflect"))
    assert items == 6
    shown = invoke(sqlite_url, "runs", "show", str(run.id))
    assert "cost in all:" in shown.output and "unknown" not in shown.output  # budget.prices
    store.close()


def test_judge_stops_at_its_budget_and_resumes_the_same_run(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k")
    monkeypatch.chdir(tmp_path)
    store = Store(sqlite_url)
    seed_tiny_data(store, make_items(12))
    with StandinServer(StandinConfig()) as server:
        cfg = write_config(tmp_path, server.base_url, "concurrency: 1\n")
        args = ["judge", "--dataset", "evaluation_set", "--config", str(cfg), "--no-progress"]
        stopped = invoke(sqlite_url, *args)
        assert stopped.exit_code == 2 and "budget spent" in stopped.output, stopped.output
        [run] = runs_of(store, "judge")
        assert run.status == "stopped" and "of 1 USD" in run.metrics["stopped"]
        first = calls_of(store, run.id)
        assert 0 < first < 12
        resumed = invoke(sqlite_url, *args, "--max-cost", "1000")
        assert resumed.exit_code == 0, resumed.output
        assert server.stats()["total"] == 12  # the judged items were not asked again
    [run] = runs_of(store, "judge")
    assert run.status == "finished" and run.run_key is None and calls_of(store, run.id) == 12
    again = invoke(sqlite_url, *args, "--max-cost", "1000")  # a finished run: a new one
    assert again.exit_code == 0 and len(runs_of(store, "judge")) == 2
    store.close()


def test_an_unpriced_model_is_refused_before_any_run(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k")
    monkeypatch.chdir(tmp_path)
    store = Store(sqlite_url)
    seed_tiny_data(store, make_items(2))
    cfg = write_config(tmp_path, "http://127.0.0.1:9/v1", "")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("  prices: prices/standin.yaml\n", ""),
                   encoding="utf-8")
    for command in (["curate"], ["judge", "--dataset", "evaluation_set"]):
        refused = invoke(sqlite_url, *command, "--config", str(cfg), "--no-progress")
        assert refused.exit_code == 2
        assert ("field budget.max_cost: there is no price for model standin: add it to a "
                "prices file (budget.prices, or configs/prices.yaml) or unset budget.max_cost"
                in " ".join(refused.output.split()))
    assert runs_of(store, "curate") == [] and runs_of(store, "judge") == []
    store.close()


async def test_adversarial_stops_at_its_budget_and_resumes_with_a_raised_one(
        paper_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kindling.agents.budget import BudgetConfig, BudgetSpent

    from kindling.services.adversarial import AdversarialRunner
    from tests.integration.test_adversarial_http import config

    monkeypatch.setenv(KEY_ENV, "k")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(PRICES, encoding="utf-8")
    script = StandinConfig(script="adversarial",
                           script_modules=["tests.standin.adversarial_scripts"])
    with StandinServer(script) as server:
        cheap = config(server.base_url, budget=BudgetConfig(max_cost=2.0,
                                                            prices=str(tmp_path / "p.yaml")))
        with pytest.raises(BudgetSpent):
            await AdversarialRunner(paper_store, cheap).run()
        [run] = runs_of(paper_store, "adversarial")
        assert run.status == "stopped" and run.metrics["stopped"].startswith("budget spent")
        sent = server.stats()["total"]
        assert calls_of(paper_store, run.id) == sent
        raised = cheap.model_copy(update={"budget": BudgetConfig(
            max_cost=10_000.0, prices=str(tmp_path / "p.yaml"))})
        outcome = await AdversarialRunner(paper_store, raised).run()
    assert outcome.run_id == run.id and outcome.stop is not None
    [run] = runs_of(paper_store, "adversarial")
    assert run.status == "finished" and run.config["budget"]["max_cost"] == 10_000.0
