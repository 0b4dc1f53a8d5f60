"""The judge's answers: one item's result, how samples are voted, and the counts over a run.

These are plain values and pure functions (no model, no store): the guard's result for a flagged
response, the majority vote of the Detector's samples, a stored judgment as a result, and whether a
result is written to the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kindling.agents.judge.guard import check_response, describe
from kindling.agents.judge.schemas import DetectorVerdict
from kindling.store.judgments import CachedJudgment


@dataclass(frozen=True)
class JudgeResult:
    """The judge's answer for one (query, response).

    verdict: 1 Good, 0 Bad, None when the call failed. score: fraction of samples judged Good
    (0.0 for a flagged response). cached: served from the store (or from an identical item of the
    same batch) without a new LLM call. error: why the item failed, else None.
    """

    verdict: int | None
    score: float | None
    reason: str | None
    flagged: bool = False
    cached: bool = False
    error: str | None = None


@dataclass
class JudgeStats:
    """Counts over everything a judge context has answered (each item counts once)."""

    judged: int = 0  # judged now by the LLM, successfully
    cached: int = 0
    flagged: int = 0
    failed: int = 0
    good: int = 0
    bad: int = 0

    def add(self, result: JudgeResult) -> None:
        """Count one answered item."""
        if result.flagged:
            self.flagged += 1
        elif result.verdict is None:
            self.failed += 1
        elif result.cached:
            self.cached += 1
        else:
            self.judged += 1
        if result.verdict is not None:
            self.good += result.verdict
            self.bad += 1 - result.verdict


def flagged_result(reasons: list[str]) -> JudgeResult:
    """The lowest score, with the guard rules that were broken as the reason."""
    return JudgeResult(verdict=0, score=0.0, reason=describe(reasons), flagged=True)


def screen(response: str, language: str = "zh") -> JudgeResult | None:
    """The guard's result for a response that addresses the judge, else None (judge it); the
    guard's rules are those of the task's `language`."""
    flagged, reasons = check_response(response, language)
    return flagged_result(reasons) if flagged else None


def aggregate(votes: Sequence[DetectorVerdict]) -> JudgeResult:
    """Majority vote of the samples; a tie is Bad (the judge is strict). Score: fraction Good.

    The reason is the explanation of the first sample that agrees with the majority.
    """
    if not votes:
        raise ValueError("aggregate needs at least one vote")
    good = sum(v.verdict == "Good" for v in votes)
    verdict = int(2 * good > len(votes))
    label = "Good" if verdict else "Bad"
    reason = next(v.explanation for v in votes if v.verdict == label)
    return JudgeResult(verdict=verdict, score=good / len(votes), reason=reason)


def from_cache(found: CachedJudgment) -> JudgeResult:
    """A stored judgment as a result (cached=True)."""
    return JudgeResult(found.verdict, found.score, found.reason, found.flagged, cached=True)


def storable(result: JudgeResult) -> bool:
    """Whether a result is written to the cache: new, and either judged or flagged (not failed)."""
    return not result.cached and (result.verdict is not None or result.flagged)
