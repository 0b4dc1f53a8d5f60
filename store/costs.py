"""What a run's agent calls cost: tokens summed per role and model from `agent_calls`, priced
with a `PriceTable` (a model with no price is reported as unknown, never as 0)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kindling.store.db import Store
from kindling.store.models import AgentCall
from kindling.store.prices import PriceTable, call_cost
from sqlalchemy import func, select


@dataclass
class RoleCost:
    """One role's calls in a run: counts, tokens, and cost (None: some model has no price)."""

    role: str
    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int | None = None  # of prompt_tokens; None: no call of the role recorded it
    completion_tokens: int = 0
    cost: float | None = 0.0
    currency: str | None = None
    unpriced: set[str] = field(default_factory=set)  # models with no price


@dataclass
class RunCost:
    """A run's cost per role and in total (None when any call's model has no price)."""

    roles: list[RoleCost]
    total: float | None
    currency: str | None
    unpriced: set[str]
    mixed_currencies: bool = False


TokenSums = tuple[str, str, int, int | None, int | None, int | None]
"""(role, model, calls, prompt tokens, cached prompt tokens, completion tokens)."""


def call_tokens(store: Store, run_ids: int | list[int]) -> list[TokenSums]:
    """(role, model, calls, prompt, cached, completion tokens) summed over the agent calls of a
    run (or of several) (every attempt: a failed attempt that was billed counts; cached is None
    where no call recorded it)."""
    ids = [run_ids] if isinstance(run_ids, int) else list(run_ids)
    stmt = (select(AgentCall.role, AgentCall.model, func.count(),
                   func.sum(AgentCall.prompt_tokens), func.sum(AgentCall.cached_tokens),
                   func.sum(AgentCall.completion_tokens))
            .where(AgentCall.run_id.in_(ids))
            .group_by(AgentCall.role, AgentCall.model).order_by(AgentCall.role, AgentCall.model))
    with store.session() as s:
        return [(r, m, n, pt, cached, ct) for r, m, n, pt, cached, ct in s.execute(stmt).all()]


def run_cost(store: Store, run_id: int | list[int], prices: PriceTable) -> RunCost:
    """Cost per role and in total for one run, or several together (roles in name order);
    cached input at the model's cached rate."""
    roles: dict[str, RoleCost] = {}
    currencies: set[str] = set()
    for role, model, n, pt, cached, ct in call_tokens(store, run_id):
        rc = roles.setdefault(role, RoleCost(role))
        rc.calls += n
        rc.prompt_tokens += pt or 0
        rc.completion_tokens += ct or 0
        if cached is not None:
            rc.cached_tokens = (rc.cached_tokens or 0) + cached
        price = prices.price_of(model)
        cost = call_cost(price, pt, ct, cached)
        if price is None:
            rc.unpriced.add(model)
        if cost is None or rc.cost is None:
            rc.cost = None
        else:
            rc.cost += cost
        if price is not None:
            if rc.currency not in (None, price.currency):
                rc.cost = None  # two currencies in one role: no single sum
            rc.currency = price.currency
            currencies.add(price.currency)
    unpriced = set().union(*(r.unpriced for r in roles.values())) if roles else set()
    costs = [r.cost for r in roles.values()]
    mixed = len(currencies) > 1
    total = None if mixed or any(c is None for c in costs) else sum(c or 0.0 for c in costs)
    return RunCost(list(roles.values()), total, next(iter(currencies), None) if not mixed else None,
                   unpriced, mixed)


def spent_cost(store: Store, run_ids: int | list[int], prices: PriceTable) -> float | None:
    """What the runs' agent calls cost in all (None: a model has no price, or two currencies);
    the figure budgets (`budget.max_cost`) are checked against."""
    return run_cost(store, run_ids, prices).total
