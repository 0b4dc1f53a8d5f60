"""Money and wall time of an experiment's LLM calls, before it runs; and after, beside what each
LLM step spent.

Money: each role's tokens priced with the price table (configs/prices.yaml, ./configs/prices.yaml,
--prices FILE); a model with no price is said so, never priced at 0; a `backend: local` model costs 0.
Wall time: the endpoint's latency as `kindling endpoint check` stored it for that base_url and model
(the median of its sequential probes), calls spread over the role's max_concurrency (and the
concurrency the check found safe); none stored: unmeasured.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.services.plan_calls import RoleCalls
from kindling.store.prices import PRICES_FILE, Price, PriceTable, call_cost, read_prices


def price_table(override: Path | None, llms: list[Any], project: Path | None = None) -> PriceTable:
    """The shipped table, then ./configs/prices.yaml (when a file), then `override`; models served
    with `backend: local` cost 0.

    Raises:
        PriceError: a price file is invalid (file, line and field named).
    """
    import datetime as dt

    from kindling.configs import shipped_configs

    prices = read_prices(shipped_configs() / PRICES_FILE)
    project = project if project is not None else Path("configs") / PRICES_FILE
    for path in (project if project.is_file() else None, override):
        if path is not None:
            prices |= read_prices(path)
    for llm in llms:
        if llm.backend == "local":
            prices[llm.model] = Price(llm.model, 0.0, 0.0, 0.0, "USD", "local", dt.date(2026, 12, 6))
    return PriceTable(prices)


@dataclass(frozen=True)
class RoleMoney:
    """One role's money: typical and at most (every answer at max_tokens); None: no price."""

    calls: RoleCalls
    price: Price | None
    typical: float | None
    at_most: float | None

    @property
    def unpriced(self) -> str | None:
        return None if self.price is not None else self.calls.llm.model


def role_money(calls: RoleCalls, prices: PriceTable) -> RoleMoney:
    price = prices.price_of(calls.llm.model)
    typical = call_cost(price, calls.total_input, calls.total_output)
    bound = call_cost(price, calls.total_input, calls.calls * calls.max_output)
    return RoleMoney(calls, price, typical, bound)


@dataclass(frozen=True)
class Totals:
    typical: float | None  # None: some role has no price
    at_most: float | None
    currency: str | None
    unpriced: list[str]


def totals(money: list[RoleMoney]) -> Totals:
    """The sum over roles (None when any role is unpriced or currencies differ)."""
    unpriced = sorted({m.unpriced for m in money if m.unpriced})
    currencies = {m.price.currency for m in money if m.price is not None and m.at_most}
    if unpriced or len(currencies) > 1:
        return Totals(None, None, None if len(currencies) != 1 else currencies.pop(), unpriced)
    return Totals(sum(m.typical or 0.0 for m in money), sum(m.at_most or 0.0 for m in money),
                  next(iter(currencies), "USD"), [])


def measured_latency(store: Any | None, base_url: str | None, model: str) -> dict[str, Any] | None:
    """What the newest finished `endpoint check` run stored for this base_url and model:
    {latency_ms (median), safe_concurrency, run}; None when none was stored."""
    if store is None or base_url is None:
        return None
    from kindling.store.queries import newest_endpoint_check

    found = newest_endpoint_check(store, base_url, model)
    if found is None:
        return None
    run_id, metrics = found
    return {"latency_ms": statistics.median(metrics["latencies_ms"]), "run": run_id,
            "safe_concurrency": metrics.get("safe_concurrency")}


def wall_seconds(calls: RoleCalls, measured: dict[str, Any] | None) -> float | None:
    """Calls × latency over the calls in flight (max_concurrency, at most the safe concurrency
    the check found); None: unmeasured. The check's latency is for its Detector probe: a longer
    answer takes longer."""
    if calls.llm.backend == "local" or measured is None:
        return None
    flight = calls.llm.max_concurrency
    if measured.get("safe_concurrency"):
        flight = min(flight, int(measured["safe_concurrency"]))
    return calls.calls * measured["latency_ms"] / 1000 / max(1, flight)


STEP_RUNS = {"path_a": ("run",), "path_b": ("run",), "grpo_judge": ("run",),
             "agreement": ("judge", "judge_run"), "compare": ("judge_run",)}
"""Where each LLM step's result in experiment.json keeps the run its agent calls are stored under
(the comparison's endpoint samples are not agent calls: not in its spent figure)."""


def step_run_ids(results: dict[str, Any]) -> dict[str, list[int]]:
    """The run ids of each LLM step, from experiment.json's results."""
    out: dict[str, list[int]] = {}
    for step, path in STEP_RUNS.items():
        value: Any = results.get(step)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int):
            out[step] = [value]
    return out


def spent(store: Any, run_ids: list[int], prices: PriceTable) -> tuple[float | None, str | None]:
    """What the runs' agent calls cost together (None: some model has no price)."""
    from kindling.store.costs import run_cost

    if not run_ids:
        return 0.0, None
    cost = run_cost(store, run_ids, prices)
    return (cost.total if cost.roles else 0.0), cost.currency
