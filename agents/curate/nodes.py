"""Path A's nodes, in graph order: retrieve_exemplars → [generate_candidate] → advocate ∥ critic →
judge → reflect → persist. Each is an async function of (state, runtime) returning partial state;
models, prompts and the store come in through `runtime.context` (a `CurateContext`). A role whose
call fails for good writes its error into state instead of raising; the graph's router sends such
an item straight to `persist`, which records it as failed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from kindling.agents.curate.context import CurateContext
from kindling.agents.curate.policy_sampler import PolicySampleFailed, PolicySampler
from kindling.agents.curate.schemas import (
    Candidate,
    DebateAnalysis,
    DebatePoints,
    JudgeVerdict,
    ReflectVerdict,
)
from kindling.agents.curate.state import CurateState
from kindling.agents.llm.caller import AgentCallFailed, AgentLLM, CallKey
from kindling.agents.templates import RenderedPrompt
from langgraph.runtime import Runtime
from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)


async def ask(
    llm: AgentLLM, state: dict[str, Any], role: str, prompt: RenderedPrompt, schema: type[T],
    principle_version_id: int | None = None, **kwargs: Any,
) -> tuple[T | None, dict[str, Any]]:
    """Call one role; on final failure return (None, partial state recording the error)."""
    key = CallKey(state["item_key"], role, principle_version_id)
    try:
        return await llm.call(key, prompt, schema, **kwargs), {}
    except AgentCallFailed as exc:
        return None, {"errors": [f"{role}: {exc.error}"], "failed_raw": {role: exc.raw}}


async def retrieve_exemplars(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    ctx = runtime.context
    found = ctx.retriever.search(state["query"], ctx.exemplars_k, exclude=state.get("candidate"))
    return {"exemplars": [e.text for e in found]}


async def generate_candidate(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    ctx = runtime.context
    if ctx.policy is not None:
        return await sample_policy_candidate(ctx.policy, state)
    prompt = ctx.prompts.render("curate/generate", query=state["query"],
                                exemplars=state.get("exemplars", []))
    out, failure = await ask(ctx.generator, dict(state), "generate", prompt, Candidate,
                             seed=state.get("sample_index", 0))
    return failure if out is None else {"candidate": out.text.strip()}


async def sample_policy_candidate(policy: PolicySampler, state: CurateState) -> dict[str, Any]:
    try:
        text = await policy.sample(state["item_key"], state["query_id"], state["query"],
                                   state.get("sample_index", 0))
    except PolicySampleFailed as exc:
        return {"errors": [f"generate: {exc}"]}
    return {"candidate": text}


def template(ctx: CurateContext, role: str) -> str:
    """The role's template in the run's prompt set (prompts/curate/paper/ or .../kindling/)."""
    return f"curate/{ctx.prompt_set}/{role}"


def principle_rules(ctx: CurateContext) -> list[str]:
    return ctx.principles.rules if ctx.principles is not None else []


async def _argue(state: CurateState, ctx: CurateContext,
                 role: str) -> tuple[list[str] | None, dict]:
    """One debater. The paper's set shows the debaters no exemplars (they feed only generation)
    and asks for {point, reason} findings; Kindling's set shows exemplars and asks for strings."""
    if ctx.prompt_set == "paper":
        prompt = ctx.prompts.render(template(ctx, role), query=state["query"],
                                    response=state["candidate"])
        out, failure = await ask(ctx.agents, dict(state), role, prompt, DebateAnalysis)
        return (None, failure) if out is None else (out.lines(ctx.prompts.language), {})
    prompt = ctx.prompts.render(template(ctx, role), query=state["query"],
                                response=state["candidate"], exemplars=state.get("exemplars", []))
    points, failure = await ask(ctx.agents, dict(state), role, prompt, DebatePoints)
    return (None, failure) if points is None else (
        [p.strip() for p in points.points if p.strip()], {})


async def advocate(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    """List the candidate's strengths."""
    points, failure = await _argue(state, runtime.context, "advocate")
    return failure if points is None else {"pros": points}


async def critic(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    """List the candidate's weaknesses."""
    points, failure = await _argue(state, runtime.context, "critic")
    return failure if points is None else {"cons": points}


async def judge(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    if state.get("errors"):  # a debater failed: nothing to weigh, the router records the failure
        return {}
    ctx = runtime.context
    prompt = ctx.prompts.render(
        template(ctx, "judge"), query=state["query"], response=state["candidate"],
        pros=state.get("pros", []), cons=state.get("cons", []), principles=principle_rules(ctx),
    )
    out, failure = await ask(ctx.agents, dict(state), "judge", prompt, JudgeVerdict,
                             principle_version_id=ctx.principle_version_id)
    if out is None:
        return failure
    return {"initial_verdict": out.verdict, "judge_reason": out.reason}


async def reflect(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    ctx = runtime.context
    prompt = ctx.prompts.render(
        template(ctx, "reflect"), query=state["query"], response=state["candidate"],
        pros=state.get("pros", []), cons=state.get("cons", []), principles=principle_rules(ctx),
        initial_verdict=state["initial_verdict"], initial_reason=state["judge_reason"],
    )
    out, failure = await ask(ctx.agents, dict(state), "reflect", prompt, ReflectVerdict,
                             principle_version_id=ctx.principle_version_id)
    if out is None:
        return failure
    overturned = out.verdict != state["initial_verdict"]
    return {"final_verdict": out.verdict, "reflect_reason": out.reason, "overturned": overturned}


async def persist(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    return {"verdict_id": await runtime.context.sink.persist_soon(dict(state))}
