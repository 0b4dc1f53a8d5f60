"""What a GRPO run did, in a few sentences, from its logged steps: the verdict the studio opens a
GRPO run's page with, `kindling runs show` prints, and the quickstart's findings quote.

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

from kindling.agents.language import unit_name

LONGER = 0.30
"""Longer than the first logged step by more than this: the length ran away."""
HELD = 0.15
"""Within this of the first logged step: the length held."""
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


@dataclass(frozen=True)
class Line:
    """One sentence of the verdict: what it is about, its words, the steps it points at, and
    whether it is a sign of trouble."""

    topic: str
    text: str
    steps: tuple[int, ...] = ()
    bad: bool = False


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
    def no_signal(self) -> bool:
        """Whether the reward gave GRPO nothing to learn from."""
        return self.constant_reward is not None or self.no_spread


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def training_steps(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The logged training steps (TRL's closing summary, which has no reward, left out)."""
    steps = metrics.get("steps") or []
    return [e for e in steps if isinstance(e, dict) and isinstance(e.get("step"), int)
            and "reward" in e]


def series(steps: Sequence[Mapping[str, Any]], key: str) -> list[tuple[int, float]]:
    """(step, value) of `key` where it was logged as a finite number."""
    return [(e["step"], v) for e in steps if (v := _number(e.get(key))) is not None]


def change(points: Sequence[tuple[int, float]]) -> Change | None:
    """First to last of a series (None when empty)."""
    if not points:
        return None
    return Change(points[0][1], points[-1][1], points[0][0], points[-1][0])


def constant(points: Sequence[tuple[int, float]]) -> float | None:
    """The value of a series logged the same at two steps or more (None: it moved, or too few)."""
    values = [v for _, v in points]
    if len(values) < 2 or max(values) - min(values) > 1e-9 * max(1.0, abs(values[0])):
        return None
    return values[0]


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
    unit = str(((config.get("task_used") or {}).get("length_unit")) or "chars")
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
    cap = _number((config.get("trl") or {}).get("max_completion_length"))
    verdict.cap = cap_share(series(steps, "completions/clipped_ratio"),
                            int(cap) if cap is not None else None)
    corrs = [v for _, v in series(steps, "watch/reward_length_corr")]
    verdict.corr = sum(corrs) / len(corrs) if corrs else None
    band = metrics.get("length_band")
    if isinstance(band, list | tuple) and len(band) == 2 and all(_number(b) is not None for b in band):
        verdict.band = (float(band[0]), float(band[1]))
    verdict.alerts = [a for a in metrics.get("watch_alerts") or [] if isinstance(a, dict)]
    stopped = metrics.get("stopped_by")
    verdict.stopped_by = stopped if isinstance(stopped, dict) else None
    return verdict


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def cap_clause(cap: CapShare) -> str:
    """"all completions hit the 64-token cap from step 27 on" (or "at least 90% of ...")."""
    share = "all completions" if (cap.least or 0) >= 1.0 else f"at least {cap.least:.0%} of completions"
    limit = f"the {cap.cap}-token cap" if cap.cap else "the token cap"
    return f"{share} hit {limit} from step {cap.since} on"


def length_line(v: Verdict) -> Line | None:
    """How long the completions grew, first to last logged step."""
    ratio, length = v.length_ratio, v.length
    if length is None or ratio is None:
        return None
    words = unit_name(v.length_in) if v.length_in != "tokens" else "tokens"
    text = (f"Length ×{ratio:.1f}: completions went from {length.first:.0f} to {length.last:.0f} "
            f"{words} (step {length.first_step} → step {length.last_step})")
    if v.band:
        text += f"; length_control's band {v.band[0]:.0f}–{v.band[1]:.0f}"
    if v.cap is not None and v.cap.bounds_length:
        text += f", and {cap_clause(v.cap)}: the cap, not the model, stops them"
    if v.corr is not None and v.corr >= LENGTH_PAYS:
        text += f"; reward and length correlated at r = {v.corr:+.2f}: the reward pays for length"
    steps: tuple[int, ...] = (length.first_step, length.last_step)
    if v.cap is not None and v.cap.since is not None:
        steps = tuple(sorted({*steps, v.cap.since}))
    return Line("length", text + ".", steps, bad=ratio - 1 > LONGER or ratio - 1 < -LONGER)


def sameness_line(v: Verdict) -> Line | None:
    """Whether the texts grew alike (distinct-2 down, self-BLEU up)."""
    d2, bleu = v.distinct_2, v.self_bleu
    parts = [f"distinct-2 {d2.first:.2f} → {d2.last:.2f}" if d2 else None,
             f"self-BLEU {bleu.first:.0f} → {bleu.last:.0f}" if bleu else None]
    shown = [p for p in parts if p]
    if not shown:
        return None
    alike = bool((d2 and d2.last <= d2.first - ALIKE_D2) or
                 (bleu and bleu.last >= bleu.first + ALIKE_BLEU))
    head = "The texts grew alike" if alike else "Variety held"
    last = (d2 or bleu).last_step  # type: ignore[union-attr]
    return Line("sameness", f"{head}: {', '.join(shown)}.", (last,), bad=alike)


def cap_line(v: Verdict) -> Line | None:
    """The share cut at the token cap, when any was."""
    cap = v.cap
    if cap is None or cap.peak <= 0:
        return None
    limit = f"the {cap.cap}-token cap" if cap.cap else "the token cap"
    if cap.bounds_length:
        text = (f"Cut at the cap: {cap_clause(cap)} ({cap.last:.0%} at the last step); "
                "the length cannot grow past it.")
        return Line("cap", text, (cap.since,) if cap.since is not None else (), bad=True)
    return Line("cap", f"{cap.last:.0%} of the last step's completions hit {limit} "
                f"(at most {cap.peak:.0%} at any step).")


def reward_lines(v: Verdict) -> list[Line]:
    """The reward's course; plainly, when it never moved or never told completions apart."""
    if v.constant_reward is not None:
        return [Line("reward", f"The reward was {_fmt(v.constant_reward)} at every step: the "
                     "policy got no signal.", bad=True)]
    if v.no_spread:
        return [Line("reward", "Every prompt's completions got the same reward at every step: "
                     "the policy got no signal (GRPO learns from differences within a prompt's "
                     "completions).", bad=True)]
    out = []
    if v.reward is not None:
        r = v.reward
        out.append(Line("reward", f"Reward {_fmt(r.first)} → {_fmt(r.last)} "
                        f"(step {r.first_step} → step {r.last_step}).", (r.last_step,)))
    for name, value in v.flat_rewards.items():
        out.append(Line("reward", f"The {name} reward was {_fmt(value)} at every step: it told "
                        "no completions apart.", bad=True))
    return out


def alert_lines(v: Verdict) -> list[Line]:
    """The watch rules that fired, and where training stopped."""
    out = []
    for alert in v.alerts:
        value = _number(alert.get("value"))
        now = ("" if value is None else f" (now {value:+.0%})" if alert.get("metric") ==
               "length_drift" else f" (now {value:g})")
        verb = "stopped training" if alert.get("action") == "stop" else "warned"
        step = alert.get("step")
        out.append(Line("alert", f"The watch rule '{alert.get('rule')}' {verb} at step {step}"
                        f"{now}.", (step,) if isinstance(step, int) else (), bad=True))
    return out


def verdict_lines(v: Verdict) -> list[Line]:
    """The verdict's sentences, trouble first: no signal, alerts, length (with the cap when it
    bounds the length), the cap, sameness."""
    if not v.steps:
        return []
    length = length_line(v)
    bounded = length is not None and v.cap is not None and v.cap.bounds_length
    found = [length, None if bounded else cap_line(v), sameness_line(v)]
    lines = reward_lines(v) + alert_lines(v) + [x for x in found if x is not None]
    return sorted(lines, key=lambda x: not x.bad)  # stable: trouble first, in the order above


def headline(v: Verdict) -> str:
    """The verdict in a few words."""
    if not v.steps:
        return "No training step logged yet."
    signs = []
    if v.no_signal:
        signs.append("no learning signal")
    ratio = v.length_ratio
    if ratio is not None and abs(ratio - 1) > LONGER:
        signs.append(f"length ×{ratio:.1f}")
    if v.cap is not None and v.cap.bounds_length:
        signs.append("cut at the token cap")
    sameness = sameness_line(v)
    if sameness is not None and sameness.bad:
        signs.append("texts alike")
    if v.alerts:
        signs.append(f"{len(v.alerts)} watch alert{'s' if len(v.alerts) > 1 else ''}")
    n = f"over {v.steps} logged step{'s' if v.steps > 1 else ''}"
    if not signs:
        return f"Nothing alarming in the logged signals {n}."
    return f"{'; '.join(signs).capitalize()} {n}."
