"""What a GRPO run did, from its logged steps: the facts of the verdict the studio opens a GRPO
run's page with and the quickstart's findings quote (said in words by grpo_verdict_text.py).

Everything is read from the run's stored metrics (its logged steps, the watch alerts) and config
(the token cap, the task's length unit): the length from the first to the last logged step, how
alike the texts grew (distinct-2, self-BLEU), the share cut at the token cap and since when, a
reward that never moved (no signal to learn from), and the watch rules that fired.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LONGER = 0.30
"""Longer than the first logged step by more than this: the length ran away."""
ALIKE_D2 = 0.10
"""distinct-2 down by this much or more: the texts grew alike."""
ALIKE_BLEU = 10.0
"""self-BLEU up by this much or more: the texts grew alike."""
CAP_LEVELS = (1.0, 0.9, 0.75, 0.5)
"""Shares of a step's completions cut at the token cap that a verdict names; the lowest: the cap
bounds the length (fewer than half cut at the last step: it does not)."""
LENGTH_PAYS = 0.5
"""A mean reward-length correlation at or above this: the reward pays for length."""


@dataclass(frozen=True)
class Change:
    """A series from its first to its last logged step."""

    first: float
    last: float
    first_step: int
    last_step: int


@dataclass(frozen=True)
class CapShare:
    """Completions cut at the token cap: the share at the last step, the highest at any step,
    and the trailing stretch of steps where at least the highest of CAP_LEVELS that the last
    step reaches were cut (`since`: its first step; `least`: its lowest share)."""

    cap: int | None
    last: float
    peak: float
    since: int | None
    least: float | None

    @property
    def bounds_length(self) -> bool:
        """Whether the cap, not the model, ends most completions at the end of the run."""
        return self.since is not None


@dataclass
class Verdict:
    """The facts a verdict is said from (see the module); `lines` says them."""

    steps: int
    unit: str = "chars"
    length: Change | None = None
    length_in: str = "chars"  # the unit of `length`: the task's, or tokens without watch signals
    distinct_2: Change | None = None
    self_bleu: Change | None = None
    reward: Change | None = None
    constant_reward: float | None = None
    no_spread: bool = False  # every group's completions scored alike at every step
    flat_rewards: dict[str, float] = field(default_factory=dict)
    cap: CapShare | None = None
    corr: float | None = None
    band: tuple[float, float] | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    stopped_by: dict[str, Any] | None = None

    @property
    def length_ratio(self) -> float | None:
        """Last over first logged length (None without a length or from zero)."""
        if self.length is None or not self.length.first:
            return None
        return self.length.last / self.length.first

    @property
    def capped(self) -> bool:
        """Whether most completions ended at the token cap by the run's last steps."""
        return self.cap is not None and self.cap.bounds_length

    @property
    def no_signal(self) -> bool:
        """Whether the reward gave GRPO nothing to learn from."""
        return self.constant_reward is not None or self.no_spread


def finite_number(value: Any) -> float | None:
    """A logged figure as a float (None: missing, not a number, a bool, NaN or infinite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def training_steps(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The logged training steps (TRL's closing summary, which has no reward, left out)."""
    return [e for e in _listed(metrics, "steps") if isinstance(e, dict) and "reward" in e
            and isinstance(e.get("step"), int) and not isinstance(e.get("step"), bool)]


def _listed(metrics: Mapping[str, Any], key: str) -> list[Any]:
    found = metrics.get(key)
    return found if isinstance(found, list) else []


def _section(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = config.get(key)
    return found if isinstance(found, Mapping) else {}


def series(steps: Sequence[Mapping[str, Any]], key: str) -> list[tuple[int, float]]:
    """(step, value) of `key` where it was logged as a finite number."""
    return [(e["step"], v) for e in steps if (v := finite_number(e.get(key))) is not None]


def change(points: Sequence[tuple[int, float]]) -> Change | None:
    """First to last of a series (None when empty)."""
    if not points:
        return None
    return Change(points[0][1], points[-1][1], points[0][0], points[-1][0])


def flat(values: Sequence[float]) -> bool:
    """Whether values are all the same, within a billionth of their size (at least of 1): the
    one rule for "never changed" (the verdict's and the charts')."""
    return bool(values) and max(values) - min(values) <= 1e-9 * max(1.0, abs(values[0]))


def constant(points: Sequence[tuple[int, float]]) -> float | None:
    """The value of a series logged the same at two steps or more (None: it moved, or too few)."""
    values = [v for _, v in points]
    return values[0] if len(values) >= 2 and flat(values) else None


def cap_share(points: Sequence[tuple[int, float]], cap: int | None) -> CapShare | None:
    """The cut-at-the-cap shares in brief (None when never logged)."""
    if not points:
        return None
    last = points[-1][1]
    level = next((x for x in CAP_LEVELS if last >= x), None)
    since = least = None
    for step, share in reversed(points):
        if level is None or share < level:
            break
        since, least = step, share if least is None else min(least, share)
    return CapShare(cap, last, max(v for _, v in points), since, least)


def grpo_verdict(metrics: Mapping[str, Any], config: Mapping[str, Any]) -> Verdict:
    """The facts of a GRPO run's verdict from its stored metrics and config."""
    steps = training_steps(metrics)
    unit = _section(config, "task_used").get("length_unit")
    unit = unit if unit in ("chars", "words") else "chars"
    verdict = Verdict(steps=len(steps), unit=unit)
    if not steps:
        return verdict
    chars = series(steps, "watch/length_chars")
    verdict.length, verdict.length_in = (change(chars), unit) if chars else (
        change(series(steps, "completions/mean_length")), "tokens")
    verdict.distinct_2 = change(series(steps, "watch/distinct_2"))
    verdict.self_bleu = change(series(steps, "watch/self_bleu"))
    rewards = series(steps, "reward")
    verdict.reward = change(rewards)
    verdict.constant_reward = constant(rewards)
    spread = [v for _, v in series(steps, "frac_reward_zero_std")]
    verdict.no_spread = bool(spread) and all(v >= 1.0 for v in spread)
    names = sorted({k.split("/")[1] for e in steps for k in e
                    if k.startswith("rewards/") and k.endswith("/mean")})
    if len(names) > 1:
        verdict.flat_rewards = {n: c for n in names
                                if (c := constant(series(steps, f"rewards/{n}/mean"))) is not None}
    cap = finite_number(_section(config, "trl").get("max_completion_length"))
    verdict.cap = cap_share(series(steps, "completions/clipped_ratio"),
                            int(cap) if cap is not None else None)
    corrs = [v for _, v in series(steps, "watch/reward_length_corr")]
    verdict.corr = sum(corrs) / len(corrs) if corrs else None
    band = metrics.get("length_band")
    if isinstance(band, list | tuple) and len(band) == 2 and all(finite_number(b) is not None for b in band):
        verdict.band = (float(band[0]), float(band[1]))
    verdict.alerts = [a for a in _listed(metrics, "watch_alerts") if isinstance(a, dict)]
    stopped = metrics.get("stopped_by")
    verdict.stopped_by = stopped if isinstance(stopped, dict) else None
    return verdict
