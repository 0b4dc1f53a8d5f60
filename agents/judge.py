"""Node `judge`: strict 0/1 verdict from the debate, under the principle set."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.context import CurateContext
from agents.nodes_common import ask
from agents.schemas import JudgeVerdict
from agents.state import CurateState


async def judge(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    if state.get("errors"):  # a debater failed: nothing to weigh, the router records the failure
        return {}
    ctx = runtime.context
    prompt = ctx.prompts.render(
        "curate/judge", query=state["query"], response=state["candidate"],
        pros=state.get("pros", []), cons=state.get("cons", []), principles=ctx.principles.rules,
    )
    out, failure = await ask(ctx.agents, dict(state), "judge", prompt, JudgeVerdict,
                             principle_version_id=ctx.principle_version_id)
    if out is None:
        return failure
    return {"initial_verdict": out.verdict, "judge_reason": out.reason}
