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
    cached_tokens: int | None = None  # None: not recorded (the store keeps no cached count yet)
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


def call_tokens(store: Store, run_id: int) -> list[tuple[str, str, int, int | None, int | None]]:
    """(role, model, calls, prompt tokens, completion tokens) summed over a run's agent calls
    (every attempt: a failed attempt that was billed counts)."""
    stmt = (select(AgentCall.role, AgentCall.model, func.count(),
                   func.sum(AgentCall.prompt_tokens), func.sum(AgentCall.completion_tokens))
            .where(AgentCall.run_id == run_id)
            .group_by(AgentCall.role, AgentCall.model).order_by(AgentCall.role, AgentCall.model))
    with store.session() as s:
        return [(r, m, n, pt, ct) for r, m, n, pt, ct in s.execute(stmt).all()]


def run_cost(store: Store, run_id: int, prices: PriceTable) -> RunCost:
    """Cost per role and in total for one run (roles in name order)."""
    roles: dict[str, RoleCost] = {}
    currencies: set[str] = set()
    for role, model, n, pt, ct in call_tokens(store, run_id):
        rc = roles.setdefault(role, RoleCost(role))
        rc.calls += n
        rc.prompt_tokens += pt or 0
        rc.completion_tokens += ct or 0
        price = prices.price_of(model)
        cost = call_cost(price, pt, ct)
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
