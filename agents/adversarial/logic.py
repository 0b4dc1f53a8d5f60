"""Pure decisions of the adversarial loop: rule hygiene, stop rules, who fooled whom."""

from __future__ import annotations

import re
from collections.abc import Iterable

from kindling.agents.adversarial.schemas import MAX_RULES

MIN_RULE_CHARS = 4
"""A rule needs at least this many letters or CJK characters (`.-` or `好` is no rule)."""
PLACEHOLDER = re.compile(
    r"\{\{|\}\}|\{%|%\}|\$\{|<[a-z_]+>|\{\s*[A-Za-z_]\w*\s*\}"  # template syntax left in
    r"|^\W*(原则|规则|策略|准则|rule|principle|strategy)\s*\d*\W*$"  # "原则1", "Rule 2"
    r"|^\W*\[?\d+\]?\W*$",                                    # "[1]", "3."
    re.IGNORECASE)
WORD_CHARS = re.compile(r"[^\W\d_]", re.UNICODE)
CJK = re.compile(r"[\u4e00-\u9fff]")


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


def refusal(rule: str, chinese: bool = False) -> str | None:
    """Why a rewritten rule cannot become part of a version (None: it can); `chinese`: the set is
    written in Chinese, so a rule without a Chinese character is not one of its rules."""
    if PLACEHOLDER.search(rule):
        return "placeholder or template fragment"
    if len(WORD_CHARS.findall(rule)) < MIN_RULE_CHARS:
        return f"shorter than {MIN_RULE_CHARS} letters"
    if chinese and not CJK.search(rule):
        return "not in the set's language (no Chinese)"
    return None


def is_chinese(rules: Iterable[str]) -> bool:
    """Whether every rule of a set holds Chinese text (the language new rules must keep)."""
    listed = list(rules)
    return bool(listed) and all(CJK.search(rule) for rule in listed)


def screen_rules(rules: Iterable[str], max_rules: int = MAX_RULES,
                 chinese: bool = False) -> tuple[list[str], list[str]]:
    """The Optimizer's rules made fit to store: (kept, refused), each refusal as `rule: why`.

    Degenerate rules (placeholders, template fragments, too short, another language than a
    Chinese set's) and repeats are refused and counted; the kept ones are normalized, in order,
    at most `max_rules`.
    """
    kept: list[str] = []
    refused: list[str] = []
    for rule in (" ".join(r.split()) for r in rules):
        why = refusal(rule, chinese) if rule else "empty"
        if why is None and normalize_rules([*kept, rule], len(kept) + 1) == kept:
            why = "repeats a rule"
        if why is None and len(kept) >= max_rules:
            why = f"over the {max_rules}-rule limit"
        if why is None:
            kept.append(rule)
        else:
            refused.append(f"{rule or '(empty)'}: {why}")
    return kept, refused


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


def not_worse(f1: float, best_f1: float | None, min_delta: float = 1e-9) -> bool:
    """Whether a revision keeps at least the best validation F1 so far (then it is accepted)."""
    return best_f1 is None or f1 >= best_f1 - min_delta
