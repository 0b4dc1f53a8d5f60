"""The `judge` graph's nodes, in graph order: guard_response → [detect] → record.

Each is an async function of (state, runtime) returning partial state; the model, prompt and store
come in through `runtime.context` (a `JudgeContext`). The steps they run are those `JudgeService`
runs for batches (agents/judge/steps.py).
"""

from __future__ import annotations

from typing import Any

from kindling.agents.judge.context import JudgeContext
from kindling.agents.judge.guard import check_response
from kindling.agents.judge.results import flagged_result
from kindling.agents.judge.state import JudgeState, result_state, state_result
from kindling.agents.judge.steps import cached_or_detect, new_row, record_results, stored_results
from kindling.store import judgments
from langgraph.runtime import Runtime


async def guard_response(state: JudgeState, runtime: Runtime[JudgeContext]) -> dict[str, Any]:
    """Node: flag a response that addresses the judge (lowest score, no LLM call)."""
    flagged, reasons = check_response(state["response"], runtime.context.language)
    if not flagged:
        return {"flagged": False, "guard_reasons": []}
    return {**result_state(flagged_result(reasons)), "guard_reasons": reasons}


async def detect(state: JudgeState, runtime: Runtime[JudgeContext]) -> dict[str, Any]:
    """Node: a stored judgment under the same settings, else k Detector samples and their vote."""
    ctx, query, response = runtime.context, state["query"], state["response"]
    key = judgments.text_key(query, response)
    cached = stored_results(ctx, [key]).get(key)
    return result_state(await cached_or_detect(ctx, query, response, cached))


async def record(state: JudgeState, runtime: Runtime[JudgeContext]) -> dict[str, Any]:
    """Node: store a new judgment (not a failure) with its agent calls; count the item."""
    ctx, query, response = runtime.context, state["query"], state["response"]
    result = state_result(state)
    row = new_row(ctx, query, response, judgments.text_key(query, response), result)
    record_results(ctx, [row] if row is not None else [], [result])
    return {}
