"""Reward-hacking signals, measured on every GRPO generation batch while training runs.

A reward model trained on the paper data rewards length, and a judge can be talked to: a policy
that learns either writes longer, more repetitive, more alike texts while its reward climbs. The
`SignalTap` wraps the run's reward functions (TRL's reward signature, sync or async, names kept);
once every reward of a batch has come back it computes, over that batch's completions:

    watch/length_chars        mean completion length, in the task's length unit (characters
                              for the paper's task; the name is kept for the watch rules)
    watch/length_drift        mean length / the reference length - 1 (+0.30 = 30% longer)
    watch/out_of_band         share outside length_control's band (only with length_control)
    watch/reward_length_corr  Pearson correlation of the weighted total reward with length
    watch/distinct_2          distinct bigrams / all bigrams (characters for zh, words for en;
                              down = more alike)
    watch/self_bleu           each completion against the others, 0-100 (up = more alike)
    watch/repetition          mean share of a completion's 3-grams that repeat in it
    watch/guard_flagged       share the judge guard flags (judge-format text, instructions)
    watch/judge_rm_discord    with both judge and rm: of the pairs of one prompt's completions
                              the judge ranks apart, the share the reward model ranks the other way

and logs them through TRL's `log_metric` (averaged per logging step by TRL, so they reach the
store, TensorBoard and Trackio like TRL's own metrics). The reference length is length_control's
median when that reward is on, else the first batch's mean (the starting policy's own length).
Lengths, n-grams, self-BLEU's tokenizer and the guard's rules follow the task's language and
length unit (agents/language.py; zh and chars by default).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kindling.agents.judge.guard import check_response
from kindling.agents.language import DEFAULT_LANGUAGE, DEFAULT_UNIT, text_length
from kindling.rl.evaluate.text_metrics import distinct_n, repetition, self_bleu
from kindling.rl.rewards.core import completion_text, emit_metric, prompt_text

PREFIX = "watch/"
Values = Sequence[float | None]


@dataclass
class LengthReference:
    """What length drift is measured against (in the task's length unit; `chars` by name)."""

    chars: float
    source: str  # "length_control" or "first batch"
    band: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The reference as stored with the run."""
        return {"chars": round(self.chars, 1), "source": self.source,
                "band": [round(x, 1) for x in self.band] if self.band else None}


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None for fewer than 3 points or a constant series."""
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return statistics.correlation(xs, ys)


def judge_rm_discord(groups: Sequence[str], judge: Values, rm: Values) -> float | None:
    """Of the pairs in one group that the judge scores apart, the share the RM orders the other way.

    Args:
        groups: the prompt of each completion (pairs are taken within a prompt's group).
        judge, rm: each completion's judge and reward-model rewards (None: failed, left out).

    Returns:
        The discordant share, or None when the judge separates no pair.
    """
    pairs = discordant = 0
    for i, j in itertools.combinations(range(len(groups)), 2):
        a, b, x, y = judge[i], judge[j], rm[i], rm[j]
        if groups[i] != groups[j] or None in (a, b, x, y) or a == b:
            continue
        pairs += 1
        discordant += (a - b) * (x - y) < 0  # type: ignore[operator]
    return discordant / pairs if pairs else None


def batch_signals(prompts: Sequence[str], texts: Sequence[str], rewards: Mapping[str, Values],
                  weights: Mapping[str, float], reference: LengthReference | None,
                  max_texts: int = 64, *, language: str = DEFAULT_LANGUAGE,
                  length_unit: str = DEFAULT_UNIT) -> dict[str, float]:
    """The signals of one generation batch (keys without the `watch/` prefix); see the module.

    `language` chooses the n-grams, self-BLEU's tokenizer and the guard's rules; `length_unit`
    the lengths (and must be the unit of `reference`)."""
    lengths = [text_length(t, length_unit) for t in texts]
    out: dict[str, float] = {"length_chars": statistics.fmean(lengths)} if lengths else {}
    if not lengths:
        return out
    if reference is not None:
        out["length_drift"] = out["length_chars"] / reference.chars - 1
        if reference.band is not None:
            low, high = reference.band
            out["out_of_band"] = sum(not low <= n <= high for n in lengths) / len(lengths)
    scored = [i for i in range(len(texts)) if all(rewards[k][i] is not None for k in rewards)]
    totals = [sum(weights.get(k, 1.0) * float(rewards[k][i] or 0.0) for k in rewards)
              for i in scored]
    corr = pearson(totals, [float(lengths[i]) for i in scored])
    if corr is not None:
        out["reward_length_corr"] = corr
    out["distinct_2"] = distinct_n(texts, 2, language=language)
    bleu = self_bleu(texts, max_texts=max_texts, language=language)
    if bleu is not None:
        out["self_bleu"] = bleu
    out["repetition"] = statistics.fmean(repetition(t, language=language) for t in texts)
    out["guard_flagged"] = sum(check_response(t, language)[0] for t in texts) / len(texts)
    if "judge" in rewards and "rm" in rewards:
        discord = judge_rm_discord(prompts, rewards["judge"], rewards["rm"])
        if discord is not None:
            out["judge_rm_discord"] = discord
    return {k: v for k, v in out.items() if math.isfinite(v)}


class SignalTap:
    """Wraps reward functions; logs the batch's signals once all of them have scored it.

    Args:
        weights: reward name -> weight (the total reward is their weighted sum, as TRL's).
        reference: length_control's median and band, or None to take the first batch's mean.
        max_texts: completions self-BLEU is computed on (a seeded sample; cost grows squared).
        language: the task's language (n-grams, self-BLEU's tokenizer, the guard's rules).
        length_unit: the task's length unit ("chars" or "words").
    """

    def __init__(self, weights: Mapping[str, float], reference: LengthReference | None = None,
                 max_texts: int = 64, *, language: str = DEFAULT_LANGUAGE,
                 length_unit: str = DEFAULT_UNIT) -> None:
        self.weights, self.reference, self.max_texts = dict(weights), reference, max_texts
        self.language, self.length_unit = language, length_unit
        self.last: dict[str, float] = {}
        self._batch: int | None = None
        self._rewards: dict[str, Values] = {}

    def wrap(self, funcs: Sequence[Any]) -> list[Any]:
        """The reward functions, each reporting its rewards here (sync stays sync, async async)."""
        return [_TappedAsync(f, self) if _is_async(f) else _Tapped(f, self) for f in funcs]

    def record(self, name: str, prompts: Sequence[Any], completions: Sequence[Any],
               values: Values, kwargs: Mapping[str, Any]) -> None:
        """Keep one reward's values; on the batch's last reward, compute and log the signals."""
        if self._batch != id(completions):
            self._batch, self._rewards = id(completions), {}
        self._rewards[name] = list(values)
        if set(self._rewards) != set(self.weights):
            return
        texts = [completion_text(c) for c in completions]
        if self.reference is None and texts:
            self.reference = LengthReference(
                statistics.fmean(text_length(t, self.length_unit) for t in texts), "first batch")
        self.last = batch_signals([prompt_text(p) for p in prompts], texts, self._rewards,
                                  self.weights, self.reference, self.max_texts,
                                  language=self.language, length_unit=self.length_unit)
        for key, value in self.last.items():
            emit_metric(kwargs, PREFIX + key, value)
        self._batch, self._rewards = None, {}


def _is_async(func: Any) -> bool:
    from trl.trainer.utils import is_async_callable

    return bool(is_async_callable(func))


class _Tapped:
    """A sync reward function whose rewards the tap also sees."""

    def __init__(self, func: Callable[..., Any], tap: SignalTap) -> None:
        self.func, self.tap = func, tap
        self.__name__ = getattr(func, "__name__", type(func).__name__)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> Any:
        values = self.func(prompts=prompts, completions=completions, **kwargs)
        self.tap.record(self.__name__, prompts, completions, values, kwargs)
        return values


class _TappedAsync(_Tapped):
    """An async reward function whose rewards the tap also sees."""

    async def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],  # type: ignore[override]
                       **kwargs: Any) -> Any:
        values = await self.func(prompts=prompts, completions=completions, **kwargs)
        self.tap.record(self.__name__, prompts, completions, values, kwargs)
        return values


def summarize_signals(metrics: Mapping[str, Any], length_unit: str = DEFAULT_UNIT) -> dict[str, Any]:
    """A stored GRPO run's watch signals in brief: steps, first and last mean length (in the
    run's task's `length_unit`: `watch/length_chars` holds lengths in that unit despite its
    name; "first_chars"/"last_chars" keep the key names), the unit, the mean reward-length
    correlation, the alerts raised."""
    steps = [e for e in metrics.get("steps", []) if isinstance(e.get(PREFIX + "length_chars"),
                                                                 int | float)]
    if not steps:
        return {"steps": 0}
    corrs = [e[PREFIX + "reward_length_corr"] for e in steps
             if isinstance(e.get(PREFIX + "reward_length_corr"), int | float)]
    return {"steps": len(steps), "unit": length_unit,
            "first_chars": steps[0][PREFIX + "length_chars"],
            "last_chars": steps[-1][PREFIX + "length_chars"],
            "corr": statistics.fmean(corrs) if corrs else None,
            "band": metrics.get("length_band"),
            "alerts": list(metrics.get("watch_alerts", []))}
