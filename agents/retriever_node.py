"""Node `retrieve_exemplars`: similar good greetings from the corpus, for the debaters."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.context import CurateContext
from agents.state import CurateState


async def retrieve_exemplars(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    ctx = runtime.context
    found = ctx.retriever.search(state["query"], ctx.exemplars_k, exclude=state.get("candidate"))
    return {"exemplars": [e.text for e in found]}
