"""The quickstart's findings in words, computed from its own figures: what the reward model
learned, what random text scores, how each GRPO policy moved from SFT (length, score, sameness,
the token cap), what its watch signals showed while it trained, and what the judge arm was."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.agents.language import DEFAULT_UNIT, unit_name
from kindling.services.grpo_verdict import Verdict
from kindling.services.grpo_verdict_text import cap_clause, reward_lines

DRIFT_HACKING = 0.30  # longer than SFT by more than this: the length was hacked
DRIFT_HELD = 0.15  # within this of SFT: the length held


def rm_findings(rm: Mapping[str, Any] | None) -> list[str]:
    """What the reward model's evaluation says, beside length alone."""
    if rm is None:
        return []
    pw, agree = rm["pairwise"]["overall"], rm["agreement"]
    rule = (f"longer than {agree.get('threshold', DEFAULT_THRESHOLD)} "
            f"{unit_name(agree.get('length_unit', DEFAULT_UNIT))} is good")
    line = (f"The reward model picks the preferred text of a test pair {pw['rm']:.1%} of the time; "
            f"always picking the longer text gets {pw['length']:.1%}. Against human labels it "
            f"agrees {agree['overall']['accuracy']:.1%}; '{rule}' "
            f"agrees {agree['baseline']['accuracy']:.1%}.")
    if pw["rm"] - pw["length"] < 0.05:
        line += " On this data a reward model mostly learns length: the labels track it."
    return [line]


def base_finding(report: Mapping[str, dict[str, Any]],
                 length_unit: str = DEFAULT_UNIT) -> list[str]:
    """Whether the RM rates the untrained model's random text highly."""
    base, sft = report.get("base"), report.get("sft")
    if not base or not sft or "rm" not in base:
        return []
    b, s = base["rm"]["excellence"]["rate"], sft["rm"]["excellence"]["rate"]
    if b >= s:
        return [f"The RM calls the untrained model's random text (base, {base['mean_length']:.0f} "
                f"{unit_name(length_unit)} of gibberish on average) excellent {b:.0%} of the time, as often as "
                f"or more than the SFT model's real greetings ({s:.0%}): a high RM score alone "
                "does not mean good writing."]
    return [f"The RM rates the untrained model's random text (base) below SFT's greetings "
            f"({b:.0%} vs {s:.0%} excellent)."]


def cap_bounds_length(m: Mapping[str, Any], sft: Mapping[str, Any],
                      verdict: Verdict | None) -> bool:
    """Whether a policy grew past SFT's length while its completions hit the token cap."""
    grew = bool(sft["mean_length"]) and m["mean_length"] / sft["mean_length"] - 1 > DRIFT_HACKING
    return grew and verdict is not None and verdict.capped and verdict.cap is not None


def policy_findings(label: str, m: Mapping[str, Any], sft: Mapping[str, Any],
                    length_unit: str = DEFAULT_UNIT, verdict: Verdict | None = None) -> list[str]:
    """How a GRPO policy moved from SFT: length (in `length_unit`; whether the token cap bounded
    it while it trained, from its run's `verdict`), RM score, repetition."""
    if not sft["mean_length"]:
        return []
    drift = m["mean_length"] / sft["mean_length"] - 1
    lengths = f"{m['mean_length']:.0f} vs {sft['mean_length']:.0f} {unit_name(length_unit)}"
    score = (f"{sft['rm']['mean']:.2f} → {m['rm']['mean']:.2f}" if "rm" in m and "rm" in sft
             else None)
    if drift > DRIFT_HACKING:
        line, joint = f"{label} writes {drift:+.0%} longer than SFT ({lengths})", " and its"
        if cap_bounds_length(m, sft, verdict):
            assert verdict is not None and verdict.cap is not None
            line += (f", and {cap_clause(verdict.cap)} while it trained: the cap, not the "
                     "model, stops it")
            joint = "; its"
        line += (f"{joint} RM score went {score}: GRPO found that the RM pays for length "
                 "(reward hacking)." if score else ".")
    elif abs(drift) <= DRIFT_HELD:
        line = f"{label} kept SFT's length ({drift:+.0%}, {lengths})"
        if score and abs(m["rm"]["mean"] - sft["rm"]["mean"]) < 0.05:
            line += f" and its RM score stayed at {m['rm']['mean']:.2f}."
        else:
            line += f" while its RM score went {score}." if score else "."
    else:
        line = f"{label} changed length by {drift:+.0%} ({lengths})" + (
            f"; its RM score went {score}." if score else ".")
    return [line, *_sameness(label, m, sft)]


def _sameness(label: str, m: Mapping[str, Any], sft: Mapping[str, Any]) -> list[str]:
    """Whether a policy loops within a text, and whether its texts became alike."""
    out = []
    rep, rep0 = m.get("repetition") or 0.0, sft.get("repetition") or 0.0
    if rep >= rep0 + 0.1:
        out.append(f"{label} repeats itself within a text: repetition {rep0:.2f} → {rep:.2f}.")
    bleu, bleu0 = m["self_bleu"], sft["self_bleu"]
    d2, d20 = m["distinct_2"], sft["distinct_2"]
    if d2 <= d20 - 0.1 or (bleu is not None and bleu0 is not None and bleu >= bleu0 + 10):
        both = f", self-BLEU {bleu0:.0f} → {bleu:.0f}" if bleu is not None and bleu0 is not None else ""
        out.append(f"{label}'s texts are more alike than SFT's: distinct-2 {d20:.2f} → {d2:.2f}"
                   f"{both}.")
    return out


def signal_findings(label: str, signals: Mapping[str, Any], verdict: Verdict | None = None,
                    cap_said: bool = False) -> list[str]:
    """What the GRPO run's watch signals showed while it trained; from its `verdict`, a reward
    that gave no signal, and the token cap when it bounded the length (unless `cap_said`)."""
    said = [f"While {label} trained, {line.text[0].lower()}{line.text[1:]}"
            for line in (reward_lines(verdict) if verdict is not None else [])
            if line.bad]
    if not signals.get("steps"):
        return said
    n = signals["steps"]
    line = (f"While {label} trained ({n} logged step{'' if n == 1 else 's'}), its completions went from "
            f"{signals['first_chars']:.0f} to {signals['last_chars']:.0f} "
            f"{unit_name(signals.get('unit', DEFAULT_UNIT))}")
    band = signals.get("band")
    if band:
        line += f" (length_control's band: {band[0]:.0f}–{band[1]:.0f})"
    if signals.get("corr") is not None:
        line += f"; reward and length correlated at r = {signals['corr']:+.2f} on average"
    alerts = signals.get("alerts") or []
    if alerts:
        first = alerts[0]
        line += f"; the watch rule '{first['rule']}' fired at step {first['step']}"
    if verdict is not None and verdict.capped and not cap_said:
        assert verdict.cap is not None
        line += f"; {cap_clause(verdict.cap)}: the cap, not the model, stops the length"
    return [line + ".", *said]


def findings(rm: Mapping[str, Any] | None, report: Mapping[str, dict[str, Any]],
             signals: Mapping[str, Mapping[str, Any]], judge_note: str | None = None,
             length_unit: str = DEFAULT_UNIT,
             verdicts: Mapping[str, Verdict] | None = None) -> list[str]:
    """Every finding, in order: the RM, random text, each GRPO policy, training signals (with
    each GRPO run's `verdicts`: the token cap, a reward that gave no signal)."""
    out = rm_findings(rm) + base_finding(report, length_unit)
    sft = report.get("sft")
    for label, m in report.items():
        if label.startswith("grpo") and sft is not None:
            verdict = (verdicts or {}).get(label)
            policy = policy_findings(label, m, sft, length_unit, verdict)
            out += policy
            out += signal_findings(label, signals.get(label, {}), verdict,
                                   cap_said=cap_bounds_length(m, sft, verdict))
    if judge_note:
        out.append(judge_note)
    return out


def judge_note(label: str, metrics: Mapping[str, Any] | None) -> str | None:
    """What the judge arm was: a 135M offline judge standing in for an endpoint, and its calls."""
    if not metrics:
        return None
    stats = metrics.get("judge_stats") or {}
    items = stats.get("items", 0)
    good = f", {stats.get('good', 0) / items:.0%} judged good" if items else ""
    return (f"{label} used the LLM judge as its reward: {items} completions judged "
            f"({stats.get('failed', 0)} failed{good}). The judge here is SmolLM2-135M served "
            "offline by llama.cpp, a stand-in so the arm runs with no key: it shows the "
            "machinery (Path B's principles as the judge's prompt, every call stored), not what a "
            "real judge (DeepSeek, GPT-4o, a vLLM server: configs/paper_grpo_judge.yaml) would "
            "teach.")
