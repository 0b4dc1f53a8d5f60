"""The price table (configs/prices.yaml, a user's merged over it) and pricing one call."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from kindling.configs import shipped_configs
from kindling.store.prices import (
    Price,
    PriceError,
    call_cost,
    load_prices,
    local_models_in,
    read_prices,
)

SHIPPED = shipped_configs() / "prices.yaml"
PRICE = Price("m", input=2.0, cached_input=0.5, output=8.0, currency="USD", source="x",
              read_on=dt.date(2026, 12, 6))


def test_a_call_is_priced_per_million_tokens() -> None:
    # 1,000,000 input at 2.0 + 500,000 output at 8.0
    assert call_cost(PRICE, 1_000_000, 500_000) == pytest.approx(6.0)


def test_cached_input_is_priced_at_the_cached_rate_when_its_count_is_known() -> None:
    # 1M prompt tokens of which 400k cached: 600k × 2.0 + 400k × 0.5 = 1.2 + 0.2
    assert call_cost(PRICE, 1_000_000, 0, cached_tokens=400_000) == pytest.approx(1.4)
    assert call_cost(PRICE, 1_000_000, 0, cached_tokens=None) == pytest.approx(2.0)
    # never more cached tokens than prompt tokens
    assert call_cost(PRICE, 1000, 0, cached_tokens=5000) == pytest.approx(1000 * 0.5 / 1e6)
    no_cache_rate = Price("n", 2.0, None, 8.0, "USD", "x", dt.date(2026, 12, 6))
    assert call_cost(no_cache_rate, 1_000_000, 0, cached_tokens=400_000) == pytest.approx(2.0)


def test_an_unknown_model_has_no_price_not_zero() -> None:
    table = load_prices(SHIPPED)
    assert table.price_of("my-finetune-7b") is None
    assert call_cost(None, 1000, 1000) is None
    assert call_cost(PRICE, None, None) is None


def test_the_shipped_table_prices_the_named_models_and_aliases() -> None:
    table = load_prices(SHIPPED)
    for name in ("deepseek-chat", "deepseek-reasoner", "gpt-4o", "gpt-4o-mini", "gpt-4.1",
                 "gpt-4.1-mini", "gpt-4o-2024-08-06"):
        price = table.price_of(name)
        assert price is not None and price.input > 0 and price.output > 0, name
        assert price.currency == "USD" and price.source.startswith("https://")
    smol = table.price_of("smollm2")
    assert smol is not None and call_cost(smol, 10_000, 10_000) == 0.0
    header = SHIPPED.read_text(encoding="utf-8")
    assert "NOT VERIFIED" in header and "2026-12-06" in header


def test_local_backend_models_cost_zero() -> None:
    config = {"llm": {"backend": "local", "model": "qwen-local"},
              "judge": {"llm": {"backend": "openai", "model": "gpt-4o"}}}
    assert local_models_in(config) == {"qwen-local"}
    table = load_prices(SHIPPED, local_models=local_models_in(config))
    assert call_cost(table.price_of("qwen-local"), 5000, 5000) == 0.0


def test_a_users_file_is_merged_over_the_shipped_one(tmp_path: Path) -> None:
    user = tmp_path / "prices.yaml"
    user.write_text("currency: EUR\nmodels:\n  gpt-4o:\n    input: 1.0\n    output: 4.0\n"
                    "    source: https://example.com\n    read_on: 2026-12-01\n"
                    "  my-vllm:\n    input: 0.1\n    output: 0.2\n    source: invoice\n"
                    "    read_on: 2026-11-30\n    aliases: [my-vllm-v2]\n", encoding="utf-8")
    table = load_prices(SHIPPED, user)
    gpt = table.price_of("gpt-4o")
    assert gpt is not None and (gpt.input, gpt.cached_input, gpt.currency) == (1.0, None, "EUR")
    assert table.price_of("my-vllm-v2") == table.price_of("my-vllm")
    assert table.price_of("deepseek-chat") is not None  # the shipped entries stay
    mapping = load_prices(SHIPPED, {"models": {"x": {"input": 1, "output": 2, "source": "s",
                                            "read_on": "2026-12-06"}}})
    assert mapping.price_of("x") is not None


def test_a_bad_field_names_file_line_and_field(tmp_path: Path) -> None:
    user = tmp_path / "prices.yaml"
    user.write_text("models:\n  gpt-4o:\n    input: -1\n    output: 4.0\n    source: s\n"
                    "    read_on: 2026-12-01\n    ouput: 3\n", encoding="utf-8")
    with pytest.raises(PriceError) as caught:
        load_prices(SHIPPED, user)
    message = str(caught.value)
    assert f"{user}:3: field models.gpt-4o.input:" in message
    assert f"{user}:7: field models.gpt-4o.ouput: unknown key" in message
    missing = tmp_path / "missing.yaml"
    missing.write_text("models:\n  m:\n    input: 1\n    source: s\n    read_on: 2026-12-01\n",
                       encoding="utf-8")
    with pytest.raises(PriceError, match=r"missing.yaml:2: field models.m.output: Field required"):
        read_prices(missing)


def test_a_policy_the_run_samples_itself_costs_nothing() -> None:
    """Path A's candidates come from the policy folder the curate run samples on this machine."""
    from kindling.store.prices import local_models_in

    config = {"llm": {"backend": "openai", "model": "deepseek-chat"},
              "policy": {"model": "/work/exp/runs/sft", "max_new_tokens": 64}}
    assert local_models_in(config) == {"/work/exp/runs/sft"}
