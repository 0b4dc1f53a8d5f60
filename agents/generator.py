"""Node `generate_candidate`: one candidate greeting for the query, from the policy model
(batched with other items' samples) or from the generator chat model."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.context import CurateContext
from agents.nodes_common import ask
from agents.policy_sampler import PolicySampleFailed, PolicySampler
from agents.schemas import Candidate
from agents.state import CurateState


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
