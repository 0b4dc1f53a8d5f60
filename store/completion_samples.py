"""A GRPO run's completion samples: a few completions per logged step, written one step at a time.

Each step's samples go in one transaction (all or none: a crash leaves no half-written step), and
writing a step again keeps what is there (TRL logs a run's closing summary at its last step).
Texts are cut to a bound before they are stored; `chars` keeps the whole completion's length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from kindling.store.db import Store
from kindling.store.models import CompletionSample
from kindling.store.upsert import insert_ignore
from sqlalchemy import select

MAX_PROMPT_CHARS = 2_000
"""A stored prompt's bound, in characters."""
MAX_COMPLETION_CHARS = 40_000
"""The most a stored completion may hold, in characters (a run config may keep fewer)."""
CUT_MARK = "…"


class SampleRow(TypedDict):
    """One completion as written: its place in the step's batch, texts, rewards and length."""

    position: int
    prompt: str
    completion: str
    rewards: dict[str, float | None]
    reward: float | None
    advantage: float | None
    chars: int
    tokens: int | None
    hit_cap: bool | None


def cut(text: str, limit: int) -> str:
    """`text` if it fits `limit` characters, else its start and "…" in `limit` characters."""
    return text if len(text) <= limit else text[: max(limit - len(CUT_MARK), 0)] + CUT_MARK


def write_step_samples(store: Store, run_id: int, step: int, rows: Sequence[SampleRow],
                       max_chars: int = MAX_COMPLETION_CHARS) -> None:
    """Store one step's samples in one transaction; a (step, position) already stored is kept.

    Args:
        store: the store.
        run_id: the GRPO run.
        step: the logged step.
        rows: the samples (completions longer than `max_chars` are cut; prompts at
            MAX_PROMPT_CHARS).
        max_chars: the completion bound, at most MAX_COMPLETION_CHARS.
    """
    limit = min(max_chars, MAX_COMPLETION_CHARS)
    values: list[dict[str, Any]] = [
        {**row, "run_id": run_id, "step": step, "prompt": cut(row["prompt"], MAX_PROMPT_CHARS),
         "completion": cut(row["completion"], limit)} for row in rows]
    with store.session() as s:
        insert_ignore(s, CompletionSample, values)


def sampled_steps(store: Store, run_id: int) -> list[int]:
    """The steps of a run that have samples, in order."""
    with store.session() as s:
        return list(s.scalars(select(CompletionSample.step).where(CompletionSample.run_id == run_id)
                              .group_by(CompletionSample.step).order_by(CompletionSample.step)))


def step_samples(store: Store, run_id: int, step: int) -> list[SampleRow]:
    """A step's samples, by their place in the batch."""
    with store.session() as s:
        found = s.scalars(select(CompletionSample).where(CompletionSample.run_id == run_id,
                                                         CompletionSample.step == step)
                          .order_by(CompletionSample.position)).all()
        return [SampleRow(position=r.position, prompt=r.prompt, completion=r.completion,
                          rewards=dict(r.rewards or {}), reward=r.reward, advantage=r.advantage,
                          chars=r.chars, tokens=r.tokens, hit_cap=r.hit_cap) for r in found]
