"""Path B, reflection and validation: validate_start (once), then per iteration sample_labelled →
detect_labelled → reflect_on_errors → revise_principles → validate.

Path B must not make its judge worse: the starting S_D is validated first, and a revision is kept
only when its validation F1 does not lose to the best so far; otherwise S_D rolls back to the best.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kindling.agents.adversarial.detect import ask_detector
from kindling.agents.adversarial.logic import improved, not_worse, stop_reason
from kindling.agents.adversarial.play import revise, sample_batch
from kindling.agents.adversarial.schemas import ErrorReflection
from kindling.agents.adversarial.state import AdversarialContext, AdversarialState
from kindling.agents.judge.metrics import binary_metrics, length_baseline
from kindling.agents.judge.prompt import DetectPrompt
from kindling.agents.judge.service import JudgeService
from kindling.agents.language import text_length
from kindling.agents.llm.caller import AgentCallFailed, CallKey
from kindling.store.principles import get_version, set_metrics
from langgraph.runtime import Runtime


async def sample_labelled(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    ctx = runtime.context
    batch = sample_batch(ctx.reflection_pool, ctx.labelled_batch_size, ctx.seed,
                         state["iteration"], "labelled")
    return {"labelled": batch}


async def detect_labelled(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    """The Detector judges labelled examples with the current S_D."""
    ctx = runtime.context

    prompt = DetectPrompt(ctx.prompts, state["sd_rules"])

    async def one(i: int, item: dict[str, Any]) -> dict[str, Any]:
        key = CallKey(f"it{state['iteration']}:lab:{i}", "detect", state["sd_id"])
        verdict = await ask_detector(ctx.detector, prompt, key, item["query"], item["response"])
        return {**item, **verdict}

    done = await asyncio.gather(*(one(i, x) for i, x in enumerate(state["labelled"])))
    return {"predictions": list(done)}


async def reflect_on_errors(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    """For each mistake, the Reflector explains it and suggests a change to S_D."""
    ctx = runtime.context
    mistakes = [p for p in state["predictions"]
                if p.get("verdict") is not None and p["verdict"] != p["label"]]

    async def one(i: int, p: dict[str, Any]) -> str | None:
        prompt = ctx.prompts.render(
            "adversarial/reflect_on_error", principles=state["sd_rules"], query=p["query"],
            response=p["response"], label=p["label"], predicted=p["verdict"],
            explanation=p.get("explanation") or "")
        key = CallKey(f"it{state['iteration']}:refl:{i}", "reflect_error", state["sd_id"])
        try:
            out = await ctx.optimizer.call(key, prompt, ErrorReflection)
        except AgentCallFailed:
            return None
        line = ctx.prompts.render("adversarial/fragments/feedback_reflection",
                                  explanation=out.explanation, suggestion=out.suggestion)
        return line.text

    found = await asyncio.gather(*(one(i, p) for i, p in enumerate(mistakes)))
    return {"reflections": [r for r in found if r]}


async def revise_principles(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    """The Optimizer rewrites S_D from the reflections (at most 10 rules, merged, no duplicates)."""
    ctx, it = runtime.context, state["iteration"]
    if not state.get("reflections"):
        return {}
    rules, refused = await revise(ctx, "adversarial/revise_principles",
                                  CallKey(f"it{it}:opt_sd_reflect", "revise_principles"),
                                  "principles", state["sd_rules"], state["reflections"])
    update: dict[str, Any] = {"refused": [*state.get("refused", []), *refused]}
    if not rules:
        return update
    vid = ctx.new_version(kind="detector", rules=rules, parent_id=state["sd_id"], iteration=it,
                          feedback="\n".join(state["reflections"]))
    return {**update, "sd_id": vid, "sd_rules": rules}


async def validate_start(state: AdversarialState,
                         runtime: Runtime[AdversarialContext]) -> dict:
    """The starting S_D on the held-out split (iteration 0): the bar every revision must meet."""
    metrics = await held_out_metrics(runtime.context, state["sd_id"])
    record = {"iteration": 0, "sd_id": state["sd_id"], "sg_id": state["sg_id"], **metrics,
              "accepted": True, "refused_rules": []}
    return {"best_f1": float(metrics["f1"]), "best_sd_id": state["sd_id"],
            "best_sd_rules": state["sd_rules"], "start_f1": float(metrics["f1"]),
            "history": [record]}


async def validate(state: AdversarialState, runtime: Runtime[AdversarialContext]) -> dict:
    """The Detector's metrics with the current S_D on the held-out split: keep the revision if it
    does not lose to the best so far, else roll S_D back to the best; decide whether to go on."""
    ctx, it = runtime.context, state["iteration"]
    metrics = await held_out_metrics(ctx, state["sd_id"])
    f1, best_f1 = float(metrics["f1"]), state.get("best_f1")
    gain, accepted = improved(f1, best_f1), not_worse(f1, best_f1)
    update: dict[str, Any] = {}
    if gain:
        update = {"best_f1": f1, "best_sd_id": state["sd_id"], "best_sd_rules": state["sd_rules"]}
    elif not accepted:  # the revision lost on validation: continue from the best version
        update = {"sd_id": state["best_sd_id"], "sd_rules": state["best_sd_rules"]}
    stale = 0 if gain else state.get("stale", 0) + 1
    stop = stop_reason(iteration=it, max_iterations=ctx.max_iterations,
                       calls_used=ctx.calls_used(), call_budget=ctx.call_budget,
                       stale_iterations=stale, patience=ctx.patience)
    record = {"iteration": it, "sd_id": state["sd_id"], "sg_id": state["sg_id"], **metrics,
              "accepted": accepted, "refused_rules": state.get("refused", [])}
    return {**update, "stale": stale, "stop": stop, "history": [record]}


async def held_out_metrics(ctx: AdversarialContext, sd_id: int) -> dict[str, Any]:
    """The Detector's accuracy, precision, recall and F1 with S_D version `sd_id` on the held-out
    split, beside the length-only baseline on the same items (lengths in the task's unit, its
    threshold and unit kept with it); stored with the version."""
    judge = JudgeService(ctx.store, ctx.detector, get_version(ctx.store, sd_id), 1, ctx.run_id,
                         prompts=ctx.prompts, language=ctx.language)
    found = await judge.judge_many([(x["query"], x["response"]) for x in ctx.held_out])
    judged = [(x["label"], f.verdict, text_length(x["response"], ctx.length_unit))
              for x, f in zip(ctx.held_out, found, strict=True) if f.verdict is not None]
    labels = [label for label, _verdict, _length in judged]
    metrics = binary_metrics(labels, [verdict for _label, verdict, _length in judged])
    baseline = binary_metrics(labels, length_baseline([n for *_rest, n in judged],
                                                      ctx.length_threshold))
    baseline["threshold"], baseline["unit"] = ctx.length_threshold, ctx.length_unit
    result = {**metrics, "failed": len(ctx.held_out) - len(judged), "length_baseline": baseline}
    set_metrics(ctx.store, sd_id, result)
    return result
