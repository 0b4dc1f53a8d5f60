"""The `judge` graph's state (one item and its outcome) and its conversion to and from results."""

from __future__ import annotations

from typing import Any, TypedDict

from kindling.agents.judge.results import JudgeResult


class JudgeState(TypedDict, total=False):
    """The `judge` graph's state: one item and its outcome."""

    query: str
    response: str
    flagged: bool
    guard_reasons: list[str]
    verdict: int | None
    score: float | None
    reason: str | None
    cached: bool
    error: str | None


def result_state(result: JudgeResult) -> dict[str, Any]:
    """A result as partial graph state."""
    return {"verdict": result.verdict, "score": result.score, "reason": result.reason,
            "flagged": result.flagged, "cached": result.cached, "error": result.error}


def state_result(state: JudgeState) -> JudgeResult:
    """The result held by a finished graph state."""
    return JudgeResult(state.get("verdict"), state.get("score"), state.get("reason"),
                       bool(state.get("flagged")), bool(state.get("cached")), state.get("error"))
