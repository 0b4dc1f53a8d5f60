"""Budgets in money: `budget:` in a run config, checked before every LLM call.

`budget.max_cost` is in the price table's currency (configs/prices.yaml, then the project's
./configs/prices.yaml, then `budget.prices`). Before the run is created every model it will call
must have a price (`check_budget`); once it runs, a `CostMeter` holds what its agent calls cost so
far (read from `agent_calls` when the run opens, so a resumed run counts what it spent before,
then each recorded attempt added), and no new call starts once that reaches `max_cost`: the call
raises `BudgetSpent` (an `EndpointError`: the run stops, marked `stopped` with the reason, and the
same command with a raised budget resumes it). The budget is not part of a run's identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kindling.agents.config import Strict
from kindling.agents.llm.errors import EndpointError
from kindling.agents.paths import PathStr
from kindling.configs import shipped_configs
from kindling.store.errors import UserError
from kindling.store.prices import PRICES_FILE, PriceTable, call_cost, merged_prices
from pydantic import Field

if TYPE_CHECKING:  # the store (SQLAlchemy) only where a run's spending is read: a command's
    # --help reads BudgetConfig's fields without it
    from kindling.store.db import Store

BUDGET_KEY = "budget"
"""The config section a run key leaves out: raising a budget resumes the same run."""


class BudgetConfig(Strict):
    """What a run may spend on LLM calls."""

    max_cost: float | None = Field(None, gt=0, description="Most money the run's LLM calls may cost, in the price table's currency (USD for the shipped prices); no new call starts once it is reached and the run stops, resumable with a raised budget. null: no limit. Every model called needs a price.")
    prices: PathStr | None = Field(None, description="A prices.yaml merged over the shipped table and the project's configs/prices.yaml (relative to this config file). null: those two only.")


def budget_field() -> Any:
    """The `budget:` field of a run config."""
    return Field(default_factory=lambda: BudgetConfig(), description="Budget in money: max_cost (null: no limit) and an optional prices file. Not part of the run's identity: raising max_cost and rerunning resumes the run.")


class BudgetError(UserError):
    """A budget that cannot be checked (a model with no price, two currencies); before any run."""


class BudgetSpent(EndpointError):
    """The run's calls cost `max_cost` or more: no new call starts; the run stops, resumable."""


@dataclass
class CostMeter:
    """What a run has spent, and the check each LLM call makes before it starts."""

    limit: float
    prices: PriceTable
    currency: str
    spent: float = 0.0

    def check(self) -> None:
        """Raises BudgetSpent once the calls cost `limit` or more."""
        if self.spent >= self.limit:
            raise BudgetSpent(self.message())

    def add(self, row: dict[str, Any]) -> None:
        """Count one recorded attempt (an `agent_calls` row): a failed one is billed too."""
        cost = call_cost(self.prices.price_of(str(row.get("model"))), row.get("prompt_tokens"),
                         row.get("completion_tokens"), row.get("cached_tokens"))
        self.spent += cost or 0.0

    def start_from(self, store: Store, run_ids: int | list[int]) -> CostMeter:
        """Count what the run's stored calls already cost (a resumed run's earlier spending).

        Raises:
            BudgetError: an earlier call's model has no price (the spending cannot be known).
        """
        from kindling.store.costs import run_cost

        cost = run_cost(store, run_ids, self.prices)
        if cost.total is None:
            models = ", ".join(sorted(cost.unpriced)) or "(prices in two currencies)"
            raise BudgetError(f"field budget.max_cost: cannot tell what the run spent: no price "
                              f"for model {models}: add it to a prices file or unset "
                              "budget.max_cost")
        self.spent = cost.total
        return self

    def message(self) -> str:
        return (f"budget spent: the run's LLM calls cost {self.spent:.4f} of {self.limit:g} "
                f"{self.currency} (budget.max_cost); raise budget.max_cost (--max-cost) and "
                "run the same command again to resume")


def budget_prices(budget: BudgetConfig, local_models: Iterable[str] = ()) -> PriceTable:
    """The shipped prices, then ./configs/prices.yaml when there is one, then `budget.prices`;
    `local_models` cost 0.

    Raises:
        PriceError: a price file is missing or invalid (file, line and field named).
    """
    project = Path("configs") / PRICES_FILE
    return merged_prices(shipped_configs() / PRICES_FILE,
                         [project if project.is_file() else None,
                          Path(budget.prices) if budget.prices else None], set(local_models))


def check_budget(budget: BudgetConfig, models: Iterable[str],
                 local_models: Iterable[str] = ()) -> CostMeter | None:
    """Before the run is created: with `max_cost` set, every model it calls must have a price,
    all in one currency. Returns a meter at 0 (None: no limit); `start_from` counts a resumed
    run's earlier calls.

    Raises:
        BudgetError: a model with no price, or prices in two currencies.
        PriceError: a price file is missing or invalid.
    """
    if budget.max_cost is None:
        return None
    table = budget_prices(budget, local_models)
    currencies = set()
    for model in sorted(set(models)):
        price = table.price_of(model)
        if price is None:
            raise BudgetError(
                f"field budget.max_cost: there is no price for model {model}: add it to a "
                "prices file (budget.prices, or configs/prices.yaml) or unset budget.max_cost")
        currencies.add(price.currency)
    if len(currencies) > 1:
        raise BudgetError(f"field budget.max_cost: the run's models are priced in "
                          f"{' and '.join(sorted(currencies))}: give them one currency")
    return CostMeter(budget.max_cost, table, next(iter(currencies), "USD"))


def llm_models(*configs: Any) -> tuple[set[str], set[str]]:
    """(every model the given LLMConfigs call, those served with backend: local); None skipped."""
    given = [c for c in configs if c is not None]
    return ({c.model for c in given}, {c.model for c in given if c.backend == "local"})
