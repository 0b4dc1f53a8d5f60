"""The experiment's `budget.max_cost`: one amount of money for every agent step of the study.

Before an agent step starts (Path A, Path B, GRPO with the judge, the agreement, the comparison),
what the study has spent so far is priced from the store: the runs of the steps before it, and
the runs of earlier attempts at a training step that stopped (a GRPO run is not resumed, it is
trained again). The step gets what is left as its own `budget.max_cost`, so it stops between
calls when the study's money runs out; the same command with a raised budget resumes there (a
budget is not part of a step's fingerprint, nor of a run's identity). Local models cost 0.
"""

from __future__ import annotations

from typing import Any, Protocol

from kindling.agents.budget import BudgetConfig, BudgetError, budget_prices
from kindling.services.experiment_config import ExperimentConfig
from kindling.store.costs import run_cost
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.prices import PriceTable

LLM_STEPS = ("path_a", "path_b", "grpo_judge", "agreement", "compare")


class Experiment(Protocol):
    store: Store
    cfg: ExperimentConfig
    results: dict[str, Any]
    attempt_runs: list[int]


class StudyBudgetSpent(UserError):
    """The study's money is spent before a step could start."""


def spent_runs(exp: Experiment) -> list[int]:
    """Every run the study's finished steps and stopped attempts called an LLM in."""
    from kindling.services.plan_costs import step_run_ids

    ids = [run for runs in step_run_ids(exp.results).values() for run in runs]
    return sorted(set(ids) | set(exp.attempt_runs))


def step_budget(exp: Experiment, name: str) -> BudgetConfig | None:
    """What step `name` may spend: the study's `max_cost` less what it spent (None: no limit).

    Raises:
        StudyBudgetSpent: nothing is left.
        BudgetError: an earlier call's model has no price (what was spent cannot be known).
    """
    budget = exp.cfg.budget
    if budget.max_cost is None or name not in LLM_STEPS:
        return None
    runs = spent_runs(exp)
    cost = run_cost(exp.store, runs, study_prices(exp.store, exp.cfg, exp.results, runs))
    if cost.total is None:
        raise BudgetError("budget.max_cost: cannot tell what the study spent: no price for "
                          f"model {', '.join(sorted(cost.unpriced))}: add it to a prices file "
                          "(budget.prices) or unset budget.max_cost")
    left = budget.max_cost - cost.total
    if left <= 0:
        raise StudyBudgetSpent(
            f"the study's budget is spent before step {name}: its LLM calls cost "
            f"{cost.total:.4f} of {budget.max_cost:g} {cost.currency or 'USD'} (budget.max_cost); "
            "raise it (--set budget.max_cost=N) and run the same command again to resume")
    return budget.model_copy(update={"max_cost": left})


def study_prices(store: Store, cfg: ExperimentConfig, results: dict[str, Any],
                 run_ids: list[int]) -> PriceTable:
    """What the study's spending is priced with: the shipped table, ./configs/prices.yaml, the
    study's budget.prices; free: the models it trained and samples from itself (Path A's policy
    folder) and every `backend: local` model its runs used."""
    from kindling.store.prices import local_models_in
    from kindling.store.reports import get_run

    free = {r["model"] for r in results.values()
            if isinstance(r, dict) and isinstance(r.get("model"), str)}
    for run_id in run_ids:
        run = get_run(store, run_id)
        config = (run.config or {}) if run is not None else {}
        free |= local_models_in(config)
    return budget_prices(cfg.budget, free)


def with_budget(config: Any, budget: BudgetConfig | None) -> Any:
    """An agent config (curate, adversarial, judge) with the step's budget (unchanged: None)."""
    return config if budget is None else config.model_copy(update={"budget": budget})


def budget_sets(budget: BudgetConfig | None, prefix: str) -> dict[str, Any]:
    """A training step's overrides for its judge's budget (`kindling.judge.budget.*`)."""
    if budget is None:
        return {}
    out: dict[str, Any] = {f"{prefix}.max_cost": budget.max_cost}
    if budget.prices is not None:
        out[f"{prefix}.prices"] = str(budget.prices)
    return out
