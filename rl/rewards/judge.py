"""The `judge` GRPO reward: Path B's principle-guided judge, async, bounded, cached.

TRL 1.16's GRPOTrainer runs async reward functions (an ``async def __call__`` on a class counts)
on ONE daemon event loop thread it starts at construction, awaiting them with
``asyncio.run_coroutine_threadsafe(..., trainer.async_loop)`` each step. That loop is where the
JudgeService's AgentLLM semaphore and HTTP client bind on first use, and it stays the same for the
whole run, so `JudgeReward` is simply async. Close it on that loop when training ends::

    asyncio.run_coroutine_threadsafe(reward.aclose(), trainer.async_loop).result()

Concurrency is bounded by the service (items in flight and the LLM's max_concurrency); judgments
are cached in the store by (principle version, model, samples, query, response); a guard-flagged
completion gets 0.0 without a call; a call that still fails after the retries gives None (TRL
leaves it out) and is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from kindling.agents.judge.results import JudgeResult
from kindling.rl.rewards.core import (
    Completion,
    LogExtra,
    Reward,
    completion_text,
    emit_metric,
    prompt_text,
)


class JudgeBackend(Protocol):
    """What JudgeReward needs of agents.judge.service.JudgeService."""

    async def judge_many(self, items: Sequence[tuple[str, str]]) -> list[JudgeResult]: ...

    async def aclose(self) -> None: ...


STAT_KEYS = ("calls", "items", "judged", "cached", "flagged", "failed", "good")


class JudgeReward:
    """Reward = the judge's score in [0, 1] (fraction of samples judged Good), None if it failed.

    Args:
        service: the judge (a JudgeService from build_judge_service, or anything with its API).

    Attributes:
        stats: running counts over every batch: calls (batches), items, judged (new LLM
            judgments), cached, flagged (guard), failed (None rewards), good.
    """

    def __init__(self, service: JudgeBackend) -> None:
        self.__name__ = "judge"
        self.service = service
        self.stats: dict[str, int] = dict.fromkeys(STAT_KEYS, 0)

    @staticmethod
    def reward_of(result: JudgeResult) -> Reward:
        """The reward for one judge result: its score, 0.0 if flagged, None if the call failed."""
        if result.flagged:
            return 0.0
        if result.verdict is None:
            return None
        return float(result.score) if result.score is not None else float(result.verdict)

    async def __call__(self, prompts: Sequence[Completion], completions: Sequence[Completion],
                       **kwargs: Any) -> list[Reward]:
        """One reward per completion; logs the batch's failed / flagged / cached shares."""
        items = [(prompt_text(p), completion_text(c))
                 for p, c in zip(prompts, completions, strict=True)]
        results = await self.service.judge_many(items)
        rewards = [self.reward_of(r) for r in results]
        batch = {
            "items": len(results),
            "judged": sum(not r.cached and not r.flagged and r.verdict is not None
                          for r in results),
            "cached": sum(r.cached and not r.flagged and r.verdict is not None for r in results),
            "flagged": sum(r.flagged for r in results),
            "failed": sum(r is None for r in rewards),
            "good": sum(r.verdict == 1 for r in results),
        }
        self.stats["calls"] += 1
        for key, value in batch.items():
            self.stats[key] += value
        if results:
            for key in ("failed", "flagged", "cached", "good"):
                emit_metric(kwargs, f"judge/{key}", batch[key] / len(results))
            log_extra: LogExtra | None = kwargs.get("log_extra")
            if log_extra is not None:
                log_extra("judge_reason", [r.error or r.reason or "" for r in results])
        return rewards

    async def aclose(self) -> None:
        """Close the service (flush its agent calls, close its HTTP client) on the loop it used."""
        await self.service.aclose()
