"""A GRPO run's verdict in words (the facts: grpo_verdict.py): a headline and a few sentences,
trouble first, each pointing at the steps it is about."""

from __future__ import annotations

from dataclasses import dataclass

from kindling.agents.language import unit_name
from kindling.services.grpo_verdict import (
    ALIKE_BLEU,
    ALIKE_D2,
    LENGTH_PAYS,
    LONGER,
    CapShare,
    Verdict,
    finite_number,
)


@dataclass(frozen=True)
class Line:
    """One sentence of the verdict: what it is about, its words, the steps it points at, and
    whether it is a sign of trouble."""

    topic: str
    text: str
    steps: tuple[int, ...] = ()
    bad: bool = False


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
    if v.capped:
        assert v.cap is not None
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
        value = finite_number(alert.get("value"))
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
    bounded = length is not None and v.capped
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
    if v.capped:
        signs.append("cut at the token cap")
    sameness = sameness_line(v)
    if sameness is not None and sameness.bad:
        signs.append("texts alike")
    if v.alerts:
        signs.append(f"{len(v.alerts)} watch alert{'s' if len(v.alerts) > 1 else ''}")
    n = f"over {v.steps} logged step{'s' if v.steps > 1 else ''}"
    if not signs:
        return f"Nothing alarming in the logged signals {n}."
    said = "; ".join(signs)
    return f"{said[:1].upper()}{said[1:]} {n}."
