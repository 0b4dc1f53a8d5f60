"""Path B, adversarial phase: sample_queries → generate_flawed → detect → revise_strategies."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from kindling.agents.adversarial.detect import ask_detector
from kindling.agents.adversarial.logic import is_chinese, screen_rules
from kindling.agents.adversarial.schemas import FlawedGreeting, RuleSet
from kindling.agents.adversarial.state import AdversarialContext, AdversarialState
from kindling.agents.judge.prompt import DetectPrompt
from kindling.agents.llm.caller import AgentCallFailed, AgentLLM, CallKey
from kindling.agents.templates import PromptLibrary
from langgraph.runtime import Runtime

DETECT_FLAWED = "adversarial/detect_flawed"
"""The Detector's prompt in the adversarial phase: the judge's, but a catch comes with advice to
the Generator (validation and labelled examples use the judge's own prompt)."""


def sample_batch(pool: list[Any], size: int, seed: int, iteration: int, salt: str) -> list[Any]:
    """A deterministic sample for (seed, iteration): a resumed run draws the same batch."""
    rng = random.Random(f"{seed}:{iteration}:{salt}")
    return rng.sample(pool, min(size, len(pool)))


async def sample_queries(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    ctx = runtime.context
    iteration = state.get("iteration", 0) + 1
    return {"iteration": iteration,
            "queries": sample_batch(ctx.query_pool, ctx.batch_size, ctx.seed, iteration, "queries")}


async def _flawed_one(ctx: AdversarialContext, state: AdversarialState, i: int,
                      query: str) -> dict[str, Any]:
    prompt = ctx.prompts.render("adversarial/generate_flawed", query=query,
                                strategies=state["sg_rules"])
    key = CallKey(f"it{state['iteration']}:gen:{i}", "generate_flawed", state["sg_id"])
    try:
        out = await ctx.generator.call(key, prompt, FlawedGreeting, seed=i)
    except AgentCallFailed as exc:
        return {"query": query, "text": None, "flaws": [], "error": exc.error}
    return {"query": query, "text": out.text, "flaws": out.flaws}


async def generate_flawed(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    """The Generator writes one plausible-but-flawed greeting per sampled query, following S_G."""
    ctx = runtime.context
    made = await asyncio.gather(*(_flawed_one(ctx, state, i, q)
                                  for i, q in enumerate(state["queries"])))
    return {"detections": list(made)}


async def detect(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    """The Detector judges each flawed greeting with S_D (Good = fooled, Bad = caught); when it
    catches one, it suggests how the Generator could hide that flaw better (the seed's Detector)."""
    ctx = runtime.context

    prompt = DetectPrompt(ctx.prompts, state["sd_rules"], DETECT_FLAWED)

    async def one(i: int, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("text") is None:
            return item
        key = CallKey(f"it{state['iteration']}:det:{i}", "detect", state["sd_id"])
        verdict = await ask_detector(ctx.detector, prompt, key, item["query"], item["text"])
        return {**item, **verdict}

    judged = await asyncio.gather(*(one(i, d) for i, d in enumerate(state["detections"])))
    return {"detections": list(judged)}


async def rewrite_rules(
    llm: AgentLLM, prompts: PromptLibrary, template: str, key: CallKey, rules_var: str,
    rules: list[str], feedback: list[str], max_rules: int,
) -> tuple[list[str] | None, list[str]]:
    """One Optimizer call: (the new rules, or None when it fails or changes nothing; the rules it
    wrote that were refused, as `rule: why`, see `screen_rules`)."""
    prompt = prompts.render(template, **{rules_var: rules}, feedback=feedback, max_rules=max_rules)
    try:
        out = await llm.call(key, prompt, RuleSet)
    except AgentCallFailed:
        return None, []
    new, refused = screen_rules(out.rules, max_rules, chinese=is_chinese(rules))
    return (new if new and new != rules else None), refused


async def revise(ctx: AdversarialContext, template: str, key: CallKey, rules_var: str,
                 rules: list[str], feedback: list[str]) -> tuple[list[str] | None, list[str]]:
    """The Optimizer's rewrite of `rules` from `feedback`: one call per feedback item in order
    (`rewrites: sequential`, the seed's way) or one call for all of it (`batched`).

    Returns (the rewritten rules, or None when nothing changed; the refused rules).
    """
    if ctx.rewrites == "batched":
        return await rewrite_rules(ctx.optimizer, ctx.prompts, template, key, rules_var, rules,
                                   feedback, ctx.max_rules)
    current, refused = rules, []
    for i, item in enumerate(feedback):
        step = CallKey(f"{key.item_key}:{i}", key.role, key.principle_version_id)
        new, dropped = await rewrite_rules(ctx.optimizer, ctx.prompts, template, step, rules_var,
                                           current, [item], ctx.max_rules)
        current, refused = new or current, refused + dropped
    return (current if current != rules else None), refused


async def revise_strategies(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    """Caught → rewrite S_G from the Detector's suggestions; fooled → rewrite S_D from the flaws."""
    ctx, it = runtime.context, state["iteration"]
    judged = [d for d in state["detections"] if d.get("verdict") is not None]
    line = ctx.prompts.render
    caught = [line("adversarial/fragments/feedback_caught", explanation=d["explanation"],
                   suggestion=d.get("suggestion")).text for d in judged if d["verdict"] == 0]
    fooled = [line("adversarial/fragments/feedback_fooled", flaws=d["flaws"], text=d["text"]).text
              for d in judged if d["verdict"] == 1]
    update: dict[str, Any] = {}
    refused: list[str] = []
    if caught:
        rules, refused_sg = await revise(ctx, "adversarial/revise_strategies",
                                         CallKey(f"it{it}:opt_sg", "revise_strategies"),
                                         "strategies", state["sg_rules"], caught)
        refused += refused_sg
        if rules:
            vid = ctx.new_version(kind="generator", rules=rules, parent_id=state["sg_id"],
                                  iteration=it, feedback="\n".join(caught))
            update |= {"sg_id": vid, "sg_rules": rules}
    if fooled:
        rules, refused_sd = await revise(ctx, "adversarial/revise_principles",
                                         CallKey(f"it{it}:opt_sd_fooled", "revise_principles"),
                                         "principles", state["sd_rules"], fooled)
        refused += refused_sd
        if rules:
            vid = ctx.new_version(kind="detector", rules=rules, parent_id=state["sd_id"],
                                  iteration=it, feedback="\n".join(fooled))
            update |= {"sd_id": vid, "sd_rules": rules}
    return {**update, "refused": refused}
