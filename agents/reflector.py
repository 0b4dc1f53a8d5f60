"""Node `reflect`: re-examines the judge's verdict; may overturn it only with a clear reason."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.context import CurateContext
from agents.nodes_common import ask
from agents.schemas import ReflectVerdict
from agents.state import CurateState


async def reflect(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    ctx = runtime.context
    prompt = ctx.prompts.render(
        "curate/reflect", query=state["query"], response=state["candidate"],
        pros=state.get("pros", []), cons=state.get("cons", []), principles=ctx.principles.rules,
        initial_verdict=state["initial_verdict"], initial_reason=state["judge_reason"],
    )
    out, failure = await ask(ctx.agents, dict(state), "reflect", prompt, ReflectVerdict,
                             principle_version_id=ctx.principle_version_id)
    if out is None:
        return failure
    overturned = out.verdict != state["initial_verdict"]
    return {"final_verdict": out.verdict, "reflect_reason": out.reason, "overturned": overturned}
