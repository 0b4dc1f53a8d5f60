"""The `judge` graph's nodes, in graph order: guard_response → [detect] → record.

Each is an async function of (state, runtime) returning partial state; the model, prompt and store
come in through `runtime.context` (a `JudgeContext`). The steps they run are those `JudgeService`
runs for batches (agents/judge/steps.py).
"""

from __future__ import annotations

from typing import Any

from kindling.agents.judge.context import JudgeContext
from kindling.agents.judge.guard import check_response
from kindling.agents.judge.results import flagged_result, from_cache, storable
from kindling.agents.judge.state import JudgeState, result_state, state_result
from kindling.agents.judge.steps import detect_item, row_for, write_rows
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
    ctx = runtime.context
    key = judgments.text_key(state["query"], state["response"])
    found = judgments.lookup(ctx.store, ctx.scope, [key]).get(key)
    if found is not None:
        return result_state(from_cache(found))
    return result_state(await detect_item(ctx, state["query"], state["response"]))


async def record(state: JudgeState, runtime: Runtime[JudgeContext]) -> dict[str, Any]:
    """Node: store a new judgment (not a failure) with its agent calls; count the item."""
    ctx = runtime.context
    result = state_result(state)
    key = judgments.text_key(state["query"], state["response"])
    rows = [row_for(ctx, state["query"], state["response"], key, result)] if storable(result) else []
    write_rows(ctx, rows)
    ctx.stats.add(result)
    return {}
