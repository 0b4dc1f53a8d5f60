"""Node `generate_candidate`: the generator model writes one candidate greeting for the query."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.context import CurateContext
from agents.nodes_common import ask
from agents.schemas import Candidate
from agents.state import CurateState


async def generate_candidate(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    ctx = runtime.context
    prompt = ctx.prompts.render("curate/generate", query=state["query"],
                                exemplars=state.get("exemplars", []))
    out, failure = await ask(ctx.generator, dict(state), "generate", prompt, Candidate,
                             seed=state.get("sample_index", 0))
    return failure if out is None else {"candidate": out.text.strip()}
