"""Nodes `advocate` and `critic`: the two sides of the debate, run in parallel."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.context import CurateContext
from agents.nodes_common import ask
from agents.schemas import DebatePoints
from agents.state import CurateState


async def _argue(state: CurateState, ctx: CurateContext, role: str) -> tuple[list[str] | None, dict]:
    prompt = ctx.prompts.render(f"curate/{role}", query=state["query"],
                                response=state["candidate"], exemplars=state.get("exemplars", []))
    out, failure = await ask(ctx.agents, dict(state), role, prompt, DebatePoints)
    return (None, failure) if out is None else ([p.strip() for p in out.points if p.strip()], {})


async def advocate(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    """List the candidate's strengths."""
    points, failure = await _argue(state, runtime.context, "advocate")
    return failure if points is None else {"pros": points}


async def critic(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    """List the candidate's weaknesses."""
    points, failure = await _argue(state, runtime.context, "critic")
    return failure if points is None else {"cons": points}
