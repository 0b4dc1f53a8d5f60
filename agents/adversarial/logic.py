"""Pure decisions of the adversarial loop: rule hygiene, stop rules, who fooled whom."""

from __future__ import annotations

from collections.abc import Iterable

from agents.adversarial.schemas import MAX_RULES


def normalize_rules(rules: Iterable[str], max_rules: int = MAX_RULES) -> list[str]:
    """Strip, drop empty and duplicate rules (order kept), keep at most `max_rules`."""
    seen: set[str] = set()
    out: list[str] = []
    for rule in rules:
        text = " ".join(rule.split())
        key = text.rstrip("。.;；").lower()
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return out[:max_rules]


def stop_reason(
    *, iteration: int, max_iterations: int, calls_used: int, call_budget: int | None,
    stale_iterations: int, patience: int,
) -> str | None:
    """Why the loop stops after `iteration` (1-based), or None to go on.

    Order: iterations, then the LLM-call budget, then patience (iterations without a gain in
    validation F1).
    """
    if iteration >= max_iterations:
        return f"reached {max_iterations} iterations"
    if call_budget is not None and calls_used >= call_budget:
        return f"LLM-call budget spent ({calls_used} of {call_budget})"
    if stale_iterations >= patience:
        return f"no validation gain for {stale_iterations} iterations (patience {patience})"
    return None


def improved(f1: float, best_f1: float | None, min_delta: float = 1e-9) -> bool:
    """Whether a validation F1 beats the best so far."""
    return best_f1 is None or f1 > best_f1 + min_delta
