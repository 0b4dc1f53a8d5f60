"""Rules over the reward-hacking signals (rl/watch.py): warn, or stop the run, when one holds.

In a GRPO run config::

    kindling:
      watch:
        rules:
          - {metric: length_drift, above: 0.30, for_steps: 5, action: stop}
          - {metric: self_bleu, above: 80, for_steps: 3}          # action: warn

A rule fires when its signal is beyond the bound at `for_steps` logging steps in a row; it fires
once per such streak. The default rules warn on a length drift beyond ±30% for 5 logging steps.
"""

from __future__ import annotations

from typing import Any, Literal

from kindling.agents.config import Strict
from pydantic import Field, model_validator

SIGNALS = ("length_chars", "length_drift", "out_of_band", "reward_length_corr", "distinct_2",
           "self_bleu", "repetition", "guard_flagged", "judge_rm_discord")
"""The signals rl/watch.py logs (as watch/<name>)."""

Signal = Literal["length_chars", "length_drift", "out_of_band", "reward_length_corr",
                 "distinct_2", "self_bleu", "repetition", "guard_flagged", "judge_rm_discord"]


class WatchRule(Strict):
    """One bound on one signal; give `above` or `below`."""

    metric: Signal = Field(..., description="The signal: " + ", ".join(SIGNALS) + ".")
    above: float | None = Field(None, description="Fires when the signal is above this.")
    below: float | None = Field(None, description="Fires when the signal is below this.")
    for_steps: int = Field(3, ge=1, description="Logging steps in a row the bound must hold.")
    action: Literal["warn", "stop"] = Field("warn", description="warn: print and store an alert; stop: also end training (the model so far is saved).")

    @model_validator(mode="after")
    def _one_bound(self) -> WatchRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self

    def describe(self) -> str:
        """The rule in words, e.g. `length_drift > 0.3 for 5 steps`."""
        bound = f"> {self.above:g}" if self.above is not None else f"< {self.below:g}"
        steps = "step" if self.for_steps == 1 else f"{self.for_steps} steps"
        return f"{self.metric} {bound} for {steps}"

    def holds(self, value: float) -> bool:
        """Whether one step's value is beyond the bound."""
        return value > self.above if self.above is not None else value < self.below  # type: ignore[operator]


def default_rules() -> list[WatchRule]:
    """Warn when the mean length drifts beyond ±30% of the reference for 5 logging steps."""
    return [WatchRule(metric="length_drift", above=0.30, for_steps=5),
            WatchRule(metric="length_drift", below=-0.30, for_steps=5)]


class WatchConfig(Strict):
    """`kindling.watch`: the reward-hacking signals of a GRPO run and the rules over them."""

    enabled: bool = Field(True, description="Compute the watch/* signals on every generation batch.")
    self_bleu_texts: int = Field(64, ge=2, description="Completions per batch that self-BLEU is computed on (a seeded sample).")
    rules: list[WatchRule] = Field(default_factory=default_rules, description="Rules that warn or stop the run; [] for none.")


class RuleWatcher:
    """Checks each logging step's signals against the rules; keeps the streaks."""

    def __init__(self, rules: list[WatchRule]) -> None:
        self.rules = rules
        self._streaks = [0] * len(rules)

    def check(self, step: int, logs: dict[str, Any]) -> list[dict[str, Any]]:
        """The alerts this step raises: {step, metric, value, rule, action}, once per streak."""
        alerts = []
        for i, rule in enumerate(self.rules):
            value = logs.get("watch/" + rule.metric)
            if not isinstance(value, int | float) or not rule.holds(float(value)):
                self._streaks[i] = 0
                continue
            self._streaks[i] += 1
            if self._streaks[i] == rule.for_steps:
                alerts.append({"step": step, "metric": rule.metric, "value": round(float(value), 4),
                               "rule": rule.describe(), "action": rule.action})
        return alerts
