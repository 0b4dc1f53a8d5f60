"""A run's cost for the studio's run page: the same figures and wording as `kindling runs show`
(the same price files: shipped, the project's configs/prices.yaml, the run's budget.prices)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kindling.configs import shipped_configs
from kindling.store.costs import run_cost
from kindling.store.db import Store
from kindling.store.models import Run
from kindling.store.prices import PRICES_FILE, PriceError, local_models_in, prices_for_run
from kindling.views import cached_cell, money, total_cached


def cost_view(store: Store, run: Run, project: Path) -> dict[str, Any] | None:
    """Per role: calls, input, cached and output tokens, cost; the total and the models with no
    price. None when the run made no agent calls. A price file that cannot be read gives
    `error` (naming the file, never quoting it) and no figures."""
    try:
        table = prices_for_run(shipped_configs() / PRICES_FILE, run.config or {},
                               project / "configs" / PRICES_FILE)
    except PriceError:
        return {"error": "a price file (configs/prices.yaml or the run's budget.prices) is not "
                         "valid: `kindling runs show` names the line and field", "roles": []}
    cost = run_cost(store, run.id, table)
    if not cost.roles:
        return None
    shown = "" if cost.currency else None
    roles = [{"role": r.role, "calls": r.calls, "prompt_tokens": r.prompt_tokens,
              "cached_tokens": cached_cell(r), "completion_tokens": r.completion_tokens,
              "cost": money(r.cost, shown if shown is not None else r.currency)}
             for r in cost.roles]
    total = ("no total (prices in more than one currency)" if cost.mixed_currencies
             else money(cost.total, cost.currency))
    unreported = any(r.cached_tokens is None and r.cost for r in cost.roles)
    return {"error": None, "roles": roles, "currency": cost.currency or "", "total": total,
            "upper_bound": bool(cost.total) and unreported,
            "calls": sum(r.calls for r in cost.roles),
            "prompt_tokens": sum(r.prompt_tokens for r in cost.roles),
            "cached_tokens": total_cached(cost.roles),
            "completion_tokens": sum(r.completion_tokens for r in cost.roles),
            "unpriced": [f"no price for model {m} (add it to prices.yaml)"
                         for m in sorted(cost.unpriced)],
            "budget": budget_line(run, cost.currency),
            "local": sorted(local_models_in(run.config or {})) if cost.total == 0 else []}


def budget_line(run: Run, currency: str | None) -> str | None:
    """`budget: 0.50 USD` when the run's config set budget.max_cost (else None)."""
    budget = (run.config or {}).get("budget")
    limit = budget.get("max_cost") if isinstance(budget, dict) else None
    if not isinstance(limit, int | float):
        return None
    return f"budget.max_cost: {limit:g} {currency or ''}".rstrip()
