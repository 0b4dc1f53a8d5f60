"""Which training curves to chart, and how: a run's ~30 logged series sorted into a few primary
charts, the reward-hacking signals, the rest folded away, flat ones and exact copies only named;
each series' unit, its one-line meaning and the y range that reads honestly (charts.py turns the
plan into the data the page's charts draw)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from kindling.services.grpo_verdict import flat

Curves = dict[str, list[tuple[float, float]]]

UNITS: dict[str, str] = {
    "completions/mean_length": "tokens",
    "completions/min_length": "tokens",
    "completions/max_length": "tokens",
    "completions/mean_terminated_length": "tokens",
    "completion_length": "tokens",
    "length_control/mean_length": "characters",
    "length_control/out_of_band": "fraction",
    "learning_rate": "lr",
    "grad_norm": "norm",
    "entropy": "nats",
    "kl": "nats",
    "watch/length_chars": "characters",
    "watch/length_drift": "fraction",
    "watch/out_of_band": "fraction",
    "watch/reward_length_corr": "r",
    "watch/distinct_2": "fraction",
    "watch/self_bleu": "BLEU 0–100",
    "watch/repetition": "fraction",
    "watch/guard_flagged": "fraction",
    "watch/judge_rm_discord": "fraction",
}
SIGNALS = ("watch/length_drift", "completions/clipped_ratio", "watch/reward_length_corr",
           "watch/out_of_band", "watch/distinct_2", "watch/self_bleu", "watch/repetition",
           "watch/guard_flagged", "watch/judge_rm_discord")
"""The reward-hacking signals (rl/watch.py, and TRL's share of completions cut at the length
cap), charted in a section of their own, in this order."""
SIGNAL_NOTES = {
    "watch/length_drift": "mean length vs the reference; +0.3 = 30% longer",
    "completions/clipped_ratio": "share cut off at the length cap; 1.0 = every completion hits "
                                 "the cap, so the cap, not the policy, bounds its length",
    "watch/reward_length_corr": "does reward follow length? near +1: it pays for length",
    "watch/out_of_band": "share outside length_control's band",
    "watch/distinct_2": "new character pairs; falling = texts more alike",
    "watch/self_bleu": "texts against each other; rising = more alike",
    "watch/repetition": "a text repeating itself; rising = looping",
    "watch/guard_flagged": "text aimed at the judge",
    "watch/judge_rm_discord": "judge and RM rank a pair differently",
}
NOTES = {
    "reward": "the mean reward of the step's completions: what GRPO pushes up",
    "kl": "how far the policy has moved from where it started",
    "loss": "the training loss",
    "accuracy": "share of pairs the reward model ranks the right way",
    "margin": "how far apart the reward model scores chosen and rejected",
    "watch/length_chars": "mean completion length in characters",
    "length_control/mean_length": "mean completion length in characters",
    "completions/mean_length": "mean completion length in tokens",
}
"""One line on what a primary series means (the signals' lines are SIGNAL_NOTES)."""
BOUNDS = {"r": (-1.0, 1.0), "BLEU 0–100": (0.0, 100.0)}
"""Units with a fixed scale: the y axis always spans it, so a small move looks small."""
FROM_ZERO = ("tokens", "characters", "fraction", "norm", "lr")
"""Units whose y axis starts at zero (when every value is on one side of it)."""
MIN_SPAN_SHARE = 0.5
"""Other series: the y axis spans at least this share of the largest value, so a wobble of a
few percent reads as a wobble, not as a climb."""
NOT_SHARES = ("watch/length_drift",)
"""Fractions that are not a share of a whole (a drift of +1.2 is 120% longer): no 0..1 scale."""
MAX_PRIMARY = 8
DUPLICATE_TOL = 1e-9


def unit_of(name: str) -> str:
    """The unit of a logged series, from its name ("" when unknown).

    Args:
        name: A TRL or Kindling log key, e.g. `completions/mean_length` or `clip_ratio/low_mean`.

    Returns:
        "tokens", "characters", "lr", "norm", "fraction", "nats" or "".
    """
    if name in UNITS:
        return UNITS[name]
    lowered = name.lower()
    parts = lowered.split("/")
    if "chars" in lowered or "characters" in lowered:
        return "characters"
    if lowered.startswith("completions/") and lowered.endswith("_length"):
        return "tokens"
    if parts[-1] in ("learning_rate", "lr"):
        return "lr"
    if parts[-1] == "grad_norm":
        return "norm"
    if lowered.startswith("clip_ratio") or parts[-1].startswith("frac_") or "ratio" in lowered:
        return "fraction"
    if parts[-1] in ("entropy", "kl") or parts[0] in ("entropy", "kl"):
        return "nats"
    return ""


@dataclass
class ChartPlan:
    """How to show a run's curves.

    Attributes:
        primary: Series to chart up front, in display order (at most 8).
        signals: The reward-hacking signals (watch/*), in SIGNALS order.
        folded: Other charted series, by name (shown collapsed).
        constant: Series whose values never change → that value (listed, not charted).
        duplicates: Series whose points equal an earlier kept one → the name of that one.
    """

    primary: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    folded: list[str] = field(default_factory=list)
    constant: dict[str, float] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)

    @property
    def flat_rewards(self) -> dict[str, float]:
        """The reward series among the constants: a reward that never changes gave GRPO
        nothing to learn from (every completion of a group scored alike)."""
        return {n: v for n, v in self.constant.items() if _is_reward(n)}

    @property
    def flat_signals(self) -> dict[str, float]:
        """The reward-hacking signals among the constants (said with the signals)."""
        return {n: v for n, v in self.constant.items() if n in SIGNALS}

    @property
    def flat_others(self) -> dict[str, float]:
        """The remaining constants (learning rate, clip ratios at 0, ...)."""
        return {n: v for n, v in self.constant.items()
                if n not in self.flat_rewards and n not in SIGNALS}


def _is_reward(name: str) -> bool:
    """Whether a series is the reward or one reward function's mean."""
    return name == "reward" or (name.startswith("rewards/") and not name.endswith("/std"))


def _is_length(name: str) -> bool:
    """Whether a series measures completion length (tokens or characters)."""
    return name in ("completions/mean_length", "completion_length",
                    "length_control/mean_length") or ("chars" in name or "characters" in name)


def _rank(name: str) -> tuple[int, int, str] | None:
    """Where a primary series goes (lower comes first), or None when it is not primary."""
    lengths = ("watch/length_chars", "length_control/mean_length", "completions/mean_length",
               "completion_length")
    groups = (
        name == "reward",
        _is_reward(name) and name != "reward",
        _is_length(name),
        name == "kl",
        name == "loss",
        name in ("accuracy", "margin"),  # reward-model training, not logged by GRPO
    )
    group = next((i for i, hit in enumerate(groups) if hit), None)
    if group is None:
        return None
    return group, lengths.index(name) if name in lengths else len(lengths), name


def _constant(points: list[tuple[float, float]]) -> float | None:
    """The value of a series that never changes, else None."""
    values = [y for _, y in points]
    return values[0] if flat(values) else None


def _same(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    """Whether two series have the same steps and values (within 1e-9)."""
    return len(a) == len(b) and all(
        xa == xb and (abs(ya - yb) <= DUPLICATE_TOL or (math.isnan(ya) and math.isnan(yb)))
        for (xa, ya), (xb, yb) in zip(a, b, strict=True))


def display_order(name: str) -> tuple[int, int, str]:
    """Where a series is shown: the primary ones in their order, then the signals in theirs,
    then the rest (a stable sort keeps those in log order)."""
    if name in SIGNALS:
        return (90, SIGNALS.index(name), "")
    return _rank(name) or (99, 0, "")


def plan_charts(curves: Curves) -> ChartPlan:
    """Sort a run's curves into primary charts, folded charts, constants and duplicates.

    Candidates for the primary charts are looked at first (in their display order), then the
    rest in log order, so a copy is always attributed to the more important series.

    Args:
        curves: Series name → [(step, value), ...] (as `runs_data.curves` gives them).

    Returns:
        The plan; every series with points lands in exactly one of its four parts.
    """
    order = sorted((n for n in curves if curves[n]), key=display_order)
    plan, kept = ChartPlan(), list[str]()
    for name in order:
        points = [(float(x), float(y)) for x, y in curves[name]]
        finite = [(x, y) for x, y in points if math.isfinite(y)]
        value = _constant(finite) if finite else None
        if value is not None:
            plan.constant[name] = value
        elif (twin := next((k for k in kept if _same(points, curves[k])), None)) is not None:
            plan.duplicates[name] = twin
        else:
            kept.append(name)
    plan.signals = [n for n in SIGNALS if n in kept]
    kept = [n for n in kept if n not in plan.signals]
    primary = [n for n in kept if _rank(n) is not None]
    plan.primary = primary[:MAX_PRIMARY]
    plan.folded = sorted(primary[MAX_PRIMARY:] + [n for n in kept if _rank(n) is None])
    return plan


def meaning(name: str) -> str:
    """One line on what a series means ("" when there is none to say)."""
    if name in SIGNAL_NOTES:
        return SIGNAL_NOTES[name]
    if name in NOTES:
        return NOTES[name]
    if _is_reward(name):
        return f"the mean score of the reward function {name.split('/')[1]}"
    return ""


def y_policy(name: str, points: list[tuple[float, float]],
             band: tuple[float, float] | None = None) -> dict[str, Any]:
    """How the y axis of a series' chart is ranged, so that noise does not read as change.

    The page applies it to whatever part of the curve is on screen (zoomed or not): the axis
    spans the values, `lo`/`hi` when given (a fixed scale, the reference band), zero when `zero`,
    and at least `min_share` of the largest value.

    Args:
        name: The series' name.
        points: Its (step, value) points.
        band: A shaded band the axis must show, as (lower, upper).

    Returns:
        {"lo": float | None, "hi": float | None, "zero": bool, "min_share": float}.
    """
    unit = unit_of(name)
    values = [y for _, y in points if math.isfinite(y)]
    lo, hi = BOUNDS.get(unit, (None, None))
    if (unit == "fraction" and name not in NOT_SHARES and values and 0.0 <= min(values)
            and max(values) <= 1.0):
        lo, hi = 0.0, 1.0
    if band is not None:
        lo = band[0] if lo is None else min(lo, band[0])
        hi = band[1] if hi is None else max(hi, band[1])
    return {"lo": lo, "hi": hi, "zero": unit in FROM_ZERO, "min_share": MIN_SPAN_SHARE}


def length_band(metrics: dict[str, Any] | None) -> tuple[float, float] | None:
    """The reference length band a run recorded, as (lower, upper) in characters.

    Args:
        metrics: A run's metrics; the band is `metrics["length_band"]`, two numbers.

    Returns:
        (lower, upper), or None when there is no such band.
    """
    band = (metrics or {}).get("length_band")
    if not isinstance(band, list | tuple) or len(band) != 2:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
               for v in band):
        return None
    return float(min(band)), float(max(band))
