"""A GRPO run's page, first screen and samples: the verdict of what happened (services/
grpo_verdict.py), and one logged step at a time its figures beside the completions kept then."""

from __future__ import annotations

from typing import Any

from kindling.agents.language import unit_name
from kindling.services.grpo_verdict import grpo_verdict, training_steps
from kindling.services.grpo_verdict_text import headline, verdict_lines
from kindling.store.completion_samples import SampleRow, sampled_steps, step_samples
from kindling.store.db import Store
from kindling.store.models import Run

QUOTE_CHARS = 120
"""How much of a completion the verdict quotes."""

FIGURES = (("reward", "reward", "{:.3f}"), ("reward_std", "reward spread (std)", "{:.3f}"),
           ("watch/length_chars", "length, {unit}", "{:.1f}"),
           ("completions/mean_length", "length, tokens", "{:.1f}"),
           ("completions/clipped_ratio", "cut at the token cap", "{:.0%}"),
           ("watch/length_drift", "length drift", "{:+.0%}"),
           ("watch/distinct_2", "distinct-2 (↓ alike)", "{:.2f}"),
           ("watch/self_bleu", "self-BLEU (↑ alike)", "{:.1f}"),
           ("watch/repetition", "repetition", "{:.2f}"),
           ("watch/reward_length_corr", "reward-length r", "{:+.2f}"),
           ("frac_reward_zero_std", "prompts scored alike", "{:.0%}"),
           ("kl", "KL", "{:.4f}"), ("loss", "loss", "{:.4f}"))
"""A step's figures shown beside its samples: (logged key, label, format); then each reward's mean."""


def step_figures(entry: dict[str, Any], unit: str) -> list[tuple[str, str]]:
    """(label, value) of one logged step's figures, those it logged."""
    out = []
    for key, label, fmt in FIGURES:
        value = entry.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append((label.format(unit=unit_name(unit)), fmt.format(value)))
        if key == "reward_std":
            out += [(f"{k.split('/')[1]} reward", f"{v:.3f}") for k, v in entry.items()
                    if k.startswith("rewards/") and k.endswith("/mean")
                    and isinstance(v, int | float)]
    return out


def _sample_view(row: SampleRow) -> dict[str, Any]:
    return {**row, "cut": len(row["completion"]) < row["chars"]}


def _quote(store: Store, run_id: int, step: int) -> dict[str, Any] | None:
    """The first sample of a step, cut for the verdict."""
    rows = step_samples(store, run_id, step)
    if not rows:
        return None
    text = " ".join(rows[0]["completion"].split())
    return {"step": step, "text": text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…",
            "chars": rows[0]["chars"]}


def pick_step(wanted: int | None, logged: list[int], sampled: list[int]) -> int | None:
    """The step shown: the one asked for when it was logged or sampled, else the last sampled,
    else the last logged (None: nothing yet)."""
    if wanted is not None and (wanted in logged or wanted in sampled):
        return wanted
    shown = sampled or logged
    return shown[-1] if shown else None


def grpo_view(store: Store, run: Run, wanted: int | None = None) -> dict[str, Any] | None:
    """What a GRPO run's page shows first and beside its steps (None for another kind of run).

    Returns:
        {"headline", "lines" (the verdict's sentences), "quotes" (first and last sampled steps'
        first completion), "steps" (the logged steps), "sampled", "step" (the one shown),
        "prev"/"next" (the steps beside it), "figures" and "samples" of that step}.
    """
    if run.kind != "grpo":
        return None
    metrics, config = run.metrics or {}, run.config or {}
    verdict = grpo_verdict(metrics, config)
    entries = {e["step"]: e for e in training_steps(metrics)}
    logged, sampled = sorted(entries), sampled_steps(store, run.id)
    step = pick_step(wanted, logged, sampled)
    choices = sorted(set(logged) | set(sampled))
    at = choices.index(step) if step in choices else None
    quotes = [q for s in dict.fromkeys(sampled[:1] + sampled[-1:])
              if (q := _quote(store, run.id, s)) is not None]
    return {"headline": headline(verdict), "lines": verdict_lines(verdict), "quotes": quotes,
            "steps": choices, "sampled": set(sampled), "step": step,
            "prev": choices[at - 1] if at else None,
            "next": choices[at + 1] if at is not None and at + 1 < len(choices) else None,
            "figures": step_figures(entries.get(step, {}), verdict.unit) if step is not None else [],
            "samples": [_sample_view(r) for r in step_samples(store, run.id, step)]
            if step is not None else []}
