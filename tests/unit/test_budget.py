"""Budgets in money: the `budget:` section (its prices path relative to the config file), left out
of run keys, every model priced before a run exists, and no call started once the run's calls
cost max_cost (nothing recorded for it)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from kindling.agents.adversarial.config import AdversarialConfig
from kindling.agents.budget import BudgetConfig, BudgetError, BudgetSpent, check_budget
from kindling.agents.config import ConfigError, load_config
from kindling.agents.curate.config import CurateConfig
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.llm.caller import AgentLLM, CallKey
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.errors import EndpointError
from kindling.agents.templates import RenderedPrompt
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from kindling.services.curate import run_key_for
from kindling.services.judge import judge_run_key
from tests.unit.test_caller_cancel import RecorderDouble

PRICES = ("models:\n  my-model:\n    input: 1000000\n    cached_input: 100000\n    output: 0\n"
          "    source: test\n    read_on: 2026-12-09\n")


def test_budget_section_on_each_config_and_its_prices_path(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "c.yaml").write_text(
        "budget:\n  max_cost: 0.5\n  prices: my-prices.yaml\n", encoding="utf-8")
    for model in (CurateConfig, AdversarialConfig, JudgeConfig):
        cfg = load_config(model, tmp_path / "cfg" / "c.yaml", {})
        assert cfg.budget.max_cost == 0.5
        assert cfg.budget.prices == str(tmp_path / "cfg" / "my-prices.yaml")
        assert model().budget == BudgetConfig()  # null: no limit
    with pytest.raises(ConfigError, match=r"--set budget.max_cost: .*greater than 0"):
        load_config(JudgeConfig, None, {"budget.max_cost": 0})
    with pytest.raises(ConfigError, match=r"field budget.max_cents: unknown key"):
        (tmp_path / "bad.yaml").write_text("budget:\n  max_cents: 1\n", encoding="utf-8")
        load_config(JudgeConfig, tmp_path / "bad.yaml", {})


def test_the_budget_is_not_part_of_a_run_key() -> None:
    cheap, rich = CurateConfig(), CurateConfig(budget=BudgetConfig(max_cost=9.0))
    assert run_key_for(cheap, "rules") == run_key_for(rich, "rules")
    assert run_key_for(cheap, "rules") != run_key_for(CurateConfig(limit=3), "rules")
    items = [("q", "r")]
    assert (judge_run_key(JudgeConfig(), {"dataset": "x"}, items)
            == judge_run_key(JudgeConfig(budget=BudgetConfig(max_cost=1.0)), {"dataset": "x"},
                             items))
    from kindling.services.adversarial import AdversarialRunner

    keys = []
    for budget in (BudgetConfig(), BudgetConfig(max_cost=2.0)):
        runner = AdversarialRunner.__new__(AdversarialRunner)
        runner.cfg, runner.new_run = AdversarialConfig(budget=budget), False
        runner.task = type("T", (), {"content_hash": "h"})()
        keys.append(runner._run_key())
    assert keys[0] == keys[1]


def test_a_model_with_no_price_is_refused_before_the_run(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./configs/prices.yaml
    assert check_budget(BudgetConfig(), ["my-model"]) is None  # no limit: nothing to price
    with pytest.raises(BudgetError) as refused:
        check_budget(BudgetConfig(max_cost=1.0), ["gpt-4o", "my-model"])
    assert str(refused.value) == (
        "field budget.max_cost: there is no price for model my-model: add it to a prices file "
        "(budget.prices, or configs/prices.yaml) or unset budget.max_cost")
    assert check_budget(BudgetConfig(max_cost=1.0), ["my-model"], {"my-model"}) is not None
    (tmp_path / "p.yaml").write_text(PRICES, encoding="utf-8")
    meter = check_budget(BudgetConfig(max_cost=1.0, prices=str(tmp_path / "p.yaml")),
                         ["my-model", "gpt-4o"])
    assert meter is not None and meter.currency == "USD"
    meter.add({"model": "my-model", "prompt_tokens": 1, "cached_tokens": 1,
               "completion_tokens": 0})
    assert meter.spent == pytest.approx(0.1)  # the cached rate
    (tmp_path / "eur.yaml").write_text(PRICES.replace("models:", "currency: EUR\nmodels:"),
                                       encoding="utf-8")
    with pytest.raises(BudgetError, match="priced in EUR and USD"):
        check_budget(BudgetConfig(max_cost=1.0, prices=str(tmp_path / "eur.yaml")),
                     ["my-model", "gpt-4o"])


class CountingChat(FakeListChatModel):
    """Test double: answers at once, with usage; counts the requests sent."""

    sent: int = 0

    async def ainvoke(self, *args: Any, **kwargs: Any) -> Any:
        self.sent += 1
        return AIMessage(content='{"verdict": 1}', usage_metadata={
            "input_tokens": 1, "output_tokens": 0, "total_tokens": 1})


class Verdict(BaseModel):
    verdict: int


async def test_no_call_starts_once_the_budget_is_spent(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PRICES, encoding="utf-8")
    meter = check_budget(BudgetConfig(max_cost=2.5, prices=str(tmp_path / "p.yaml")),
                         ["my-model"])
    assert meter is not None
    recorder, chat = RecorderDouble(), CountingChat(responses=["{}"])
    llm = AgentLLM(chat, LLMConfig(backend="openai", model="my-model", max_concurrency=2,
                                   base_url="http://127.0.0.1:9/v1"), recorder)
    llm.meter = meter
    prompt = RenderedPrompt("curate/judge", "h", "x")
    for i in range(3):  # 1 USD each: 0 → 1 → 2 → 3
        await llm.call(CallKey(f"item-{i}", "judge"), prompt, Verdict)
    with pytest.raises(BudgetSpent) as spent:
        await llm.call(CallKey("item-3", "judge"), prompt, Verdict)
    assert isinstance(spent.value, EndpointError)  # the run stops as on an endpoint refusal
    assert str(spent.value).startswith("budget spent: the run's LLM calls cost 3.0000 of 2.5 "
                                       "USD (budget.max_cost)")
    assert chat.sent == 3 and len(recorder.rows) == 3  # the refused call was never sent
    results = await asyncio.gather(*(llm.call(CallKey(f"more-{i}", "judge"), prompt, Verdict)
                                     for i in range(4)), return_exceptions=True)
    assert all(isinstance(r, BudgetSpent) for r in results) and chat.sent == 3
