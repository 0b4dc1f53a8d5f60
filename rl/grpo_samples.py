"""A few of each logged GRPO step's completions, kept in the store: what the policy wrote then.

TRL's GRPOTrainer keeps the latest generation batch in its completion log (the prompts,
completions, each reward function's values and the advantages that `log_completions` prints and
saves), and a reward function may add columns to it through its `log_extra` argument.
`count_tokens` wraps the first reward function so that each completion's token count and whether
it hit `max_completion_length` (cut there without an end token, as TRL's
`completions/clipped_ratio` counts it) join that log; `CompletionSampler.keep` then takes a few
completions spread over the batch (different prompts first) at each logged step and writes them
on the main process (the log is gathered from every process, so it holds the whole batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kindling.agents.config import Strict
from kindling.rl.rewards.core import completion_text, prompt_text
from kindling.store.completion_samples import MAX_COMPLETION_CHARS, SampleRow, write_step_samples
from kindling.store.db import Store
from pydantic import Field

TOKENS, HIT_CAP = "tokens", "hit cap"
"""The columns `count_tokens` adds to TRL's completion log."""


class SamplesConfig(Strict):
    """`kindling.samples`: the completions a GRPO run keeps per logged step for the studio."""

    per_step: int = Field(4, ge=0, le=64, description="Completions kept per logged step, spread over the batch's prompts (0: none).")
    max_chars: int = Field(2000, ge=50, le=MAX_COMPLETION_CHARS, description="A kept completion is cut to this many characters (its whole length is kept beside it).")


def spread(total: int, n: int) -> list[int]:
    """`n` positions spread evenly over `total` (every position when n >= total).

    A GRPO batch holds each prompt's completions side by side, so spread positions fall on
    different prompts as long as there are enough of them.
    """
    if n >= total:
        return list(range(total))
    return sorted({i * total // n for i in range(n)})


def _number(value: Any) -> float | None:
    """A reward or advantage as stored: NaN (TRL's "not scored") becomes None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def weighted_total(rewards: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """The total GRPO trains on: the weighted sum of the scored rewards (None: none scored)."""
    scored = [weights.get(name, 1.0) * v for name, v in rewards.items() if v is not None]
    return sum(scored) if scored else None


def sample_rows(log: Mapping[str, Any], weights: Mapping[str, float], n: int) -> list[SampleRow]:
    """`n` rows from TRL's completion log, spread over its batch.

    Args:
        log: the trainer's completion log: "prompt", "completion", "rewards" (name -> values),
            "advantages", "extra" (column -> values; `count_tokens`'s columns when present).
        weights: reward name -> weight, as GRPO sums them.
        n: how many rows.
    """
    prompts, completions = list(log.get("prompt") or []), list(log.get("completion") or [])
    rewards = {name: list(values) for name, values in (log.get("rewards") or {}).items()}
    advantages = list(log.get("advantages") or [])
    extra = {name: list(values) for name, values in (log.get("extra") or {}).items()}
    rows = []
    for i in spread(min(len(prompts), len(completions)), n):
        text = completion_text(completions[i])
        scored = {name: _number(values[i]) if i < len(values) else None
                  for name, values in rewards.items()}
        tokens = _at(extra.get(TOKENS), i)
        hit_cap = _at(extra.get(HIT_CAP), i)
        rows.append(SampleRow(position=i, prompt=prompt_text(prompts[i]), completion=text,
                              rewards=scored, reward=weighted_total(scored, weights),
                              advantage=_number(_at(advantages, i)), chars=len(text),
                              tokens=int(tokens) if tokens is not None else None,
                              hit_cap=bool(hit_cap) if hit_cap is not None else None))
    return rows


def _at(values: Sequence[Any] | None, i: int) -> Any:
    return values[i] if values is not None and i < len(values) else None


class CompletionSampler:
    """Writes a few completions of each logged step (the main process only: `store` is None on
    the others).

    Args:
        store: the store, or None on a process that writes nothing.
        run_id: the GRPO run.
        config: how many completions per step and how long.
        weights: reward name -> weight.
    """

    def __init__(self, store: Store | None, run_id: int, config: SamplesConfig,
                 weights: Mapping[str, float]) -> None:
        self.store, self.run_id, self.config = store, run_id, config
        self.weights = dict(weights)
        self.log: Mapping[str, Any] | None = None  # the trainer's completion log, once it exists
        self._kept_batch: int | None = None  # which generation the last kept samples came from

    def keep(self, step: int) -> None:
        """Store this step's samples (one transaction; a step already kept is left as it is).

        TRL generates once every `steps_per_generation` steps and trains on that batch in
        between: a batch is kept at the first logged step that sees it, never again under the
        later steps that reuse it (they would claim what an older policy wrote)."""
        if self.store is None or self.log is None or self.config.per_step == 0:
            return
        batch = hash(repr((list(self.log.get("prompt", ())), list(self.log.get("completion", ())))))
        if batch == self._kept_batch:
            return
        rows = sample_rows(self.log, self.weights, self.config.per_step)
        if rows:
            write_step_samples(self.store, self.run_id, step, rows, self.config.max_chars)
        self._kept_batch = batch


def completion_log(trainer: Any) -> Mapping[str, Any] | None:
    """GRPOTrainer's completion log (its `_logs`: what `log_completions` prints and saves)."""
    log = getattr(trainer, "_logs", None)
    return log if isinstance(log, Mapping) else None


def stop_token_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """The tokens a completion may end on without being cut: the end tokens TRL stops on (the
    generation config's and the tokenizer's) and padding."""
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured]
    ids += [tokenizer.eos_token_id, tokenizer.pad_token_id]
    return frozenset(i for i in ids if isinstance(i, int))


def count_tokens(funcs: Sequence[Any], cap: int | None, stops: frozenset[int]) -> list[Any]:
    """The reward functions, the first wrapped so that TRL's completion log gets each
    completion's token count and whether it hit `cap` tokens (None: no cap, never hit)."""
    if not funcs:
        return list(funcs)
    first = funcs[0]
    wrapped = (_CountingAsync if _is_async(first) else _Counting)(first, cap, stops)
    return [wrapped, *funcs[1:]]


def hit_the_cap(ids: Sequence[int], cap: int | None, stops: frozenset[int]) -> bool:
    """Whether a completion was cut at the cap: `cap` tokens long, its last no end token."""
    return cap is not None and len(ids) >= cap and (not ids or ids[-1] not in stops)


def _is_async(func: Any) -> bool:
    from trl.trainer.utils import is_async_callable

    return bool(is_async_callable(func))


class _Counting:
    """A reward function that also logs its completions' token counts to TRL's log."""

    def __init__(self, func: Callable[..., Any], cap: int | None, stops: frozenset[int]) -> None:
        self.func, self.cap, self.stops = func, cap, stops
        self.__name__ = getattr(func, "__name__", type(func).__name__)

    def log_counts(self, kwargs: Mapping[str, Any]) -> None:
        log_extra, ids = kwargs.get("log_extra"), kwargs.get("completion_ids")
        if log_extra is None or ids is None:
            return
        log_extra(TOKENS, [len(x) for x in ids])
        log_extra(HIT_CAP, [hit_the_cap(list(x), self.cap, self.stops) for x in ids])

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> Any:
        values = self.func(prompts=prompts, completions=completions, **kwargs)
        self.log_counts(kwargs)
        return values


class _CountingAsync(_Counting):
    """An async reward function that also logs its completions' token counts."""

    async def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],  # type: ignore[override]
                       **kwargs: Any) -> Any:
        values = await self.func(prompts=prompts, completions=completions, **kwargs)
        self.log_counts(kwargs)
        return values
