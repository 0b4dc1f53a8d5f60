"""Path B's principle-guided judge: the functions the `judge` graph's nodes and the batch service share.

One item is judged as: guard (pure; a flagged response gets verdict 0, score 0.0 and no LLM call)
→ cache (a stored judgment under the same principle version, model and sample count) → k Detector
samples (distinct seeds, concurrent) → majority vote (score = fraction of samples judged Good)
→ recorded in the store. `JudgeService` (agents/judge/service.py) runs these steps over batches;
the graph (graphs/judge.py) runs them one item at a time through the nodes below.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from kindling.agents.judge.guard import check_response, describe
from kindling.agents.judge.schemas import DetectorVerdict
from kindling.agents.llm.caller import AgentCallFailed, AgentLLM, CallKey
from kindling.agents.templates import PromptLibrary, RenderedPrompt
from kindling.store import judgments
from kindling.store.calls import CallLog
from kindling.store.db import Store
from kindling.store.judgments import CachedJudgment, JudgmentScope
from langgraph.runtime import Runtime

ROLE = "detect"
TEMPLATE = "judge/detect"
_QUERY, _RESPONSE = "\x00kindling-query\x00", "\x00kindling-response\x00"


class DetectPrompt:
    """The Detector prompt with the principles rendered once; per item only the texts are filled in.

    The template is rendered with placeholder texts and split around them, so an item costs two
    string joins instead of a Jinja render (the same text `PromptLibrary.render` gives).
    """

    def __init__(self, prompts: PromptLibrary, rules: list[str], template: str = TEMPLATE) -> None:
        self.prompts, self.rules, self.name = prompts, rules, template
        shell = prompts.render(template, principles=rules, query=_QUERY, response=_RESPONSE)
        self.template, self.template_hash = shell.template, shell.template_hash
        text = shell.text
        simple = (text.count(_QUERY) == 1 and text.count(_RESPONSE) == 1
                  and text.index(_QUERY) < text.index(_RESPONSE))
        head, _, rest = text.partition(_QUERY)
        middle, _, tail = rest.partition(_RESPONSE)
        self._parts = (head, middle, tail) if simple else None

    def render(self, query: str, response: str) -> RenderedPrompt:
        """The prompt for one (query, response)."""
        if self._parts is None:  # a template that uses a text twice or after the other
            return self.prompts.render(self.name, principles=self.rules, query=query,
                                       response=response)
        head, middle, tail = self._parts
        return RenderedPrompt(self.template, self.template_hash,
                              f"{head}{query}{middle}{response}{tail}")


@dataclass(frozen=True)
class JudgeResult:
    """The judge's answer for one (query, response).

    verdict: 1 Good, 0 Bad, None when the call failed. score: fraction of samples judged Good
    (0.0 for a flagged response). cached: served from the store (or from an identical item of the
    same batch) without a new LLM call. error: why the item failed, else None.
    """

    verdict: int | None
    score: float | None
    reason: str | None
    flagged: bool = False
    cached: bool = False
    error: str | None = None


@dataclass
class JudgeStats:
    """Counts over everything a judge context has answered (each item counts once)."""

    judged: int = 0  # judged now by the LLM, successfully
    cached: int = 0
    flagged: int = 0
    failed: int = 0
    good: int = 0
    bad: int = 0

    def add(self, result: JudgeResult) -> None:
        """Count one answered item."""
        if result.flagged:
            self.flagged += 1
        elif result.verdict is None:
            self.failed += 1
        elif result.cached:
            self.cached += 1
        else:
            self.judged += 1
        if result.verdict is not None:
            self.good += result.verdict
            self.bad += 1 - result.verdict


@dataclass
class JudgeContext:
    """Everything a judge step needs, handed in (the graph's runtime context, or the service's)."""

    llm: AgentLLM
    prompt: DetectPrompt
    store: Store
    scope: JudgmentScope
    rules: list[str]
    run_id: int | None
    calls: CallLog | None = None
    stats: JudgeStats = field(default_factory=JudgeStats)
    language: str = "zh"  # the task's language: the guard's rules


class JudgeState(TypedDict, total=False):
    """The `judge` graph's state: one item and its outcome."""

    query: str
    response: str
    flagged: bool
    guard_reasons: list[str]
    verdict: int | None
    score: float | None
    reason: str | None
    cached: bool
    error: str | None


def sample_key(query: str, response: str, sample: int) -> str:
    """The agent-call item key of one Detector sample: "j" + 16 hex digits of a SHA-256."""
    digest = hashlib.sha256(f"{query}\x1f{response}\x1f{sample}".encode()).hexdigest()
    return "j" + digest[:16]


def flagged_result(reasons: list[str]) -> JudgeResult:
    """The lowest score, with the guard rules that were broken as the reason."""
    return JudgeResult(verdict=0, score=0.0, reason=describe(reasons), flagged=True)


def screen(response: str, language: str = "zh") -> JudgeResult | None:
    """The guard's result for a response that addresses the judge, else None (judge it); the
    guard's rules are those of the task's `language`."""
    flagged, reasons = check_response(response, language)
    return flagged_result(reasons) if flagged else None


def aggregate(votes: Sequence[DetectorVerdict]) -> JudgeResult:
    """Majority vote of the samples; a tie is Bad (the judge is strict). Score: fraction Good.

    The reason is the explanation of the first sample that agrees with the majority.
    """
    if not votes:
        raise ValueError("aggregate needs at least one vote")
    good = sum(v.verdict == "Good" for v in votes)
    verdict = int(2 * good > len(votes))
    label = "Good" if verdict else "Bad"
    reason = next(v.explanation for v in votes if v.verdict == label)
    return JudgeResult(verdict=verdict, score=good / len(votes), reason=reason)


async def detect_sample(
    ctx: JudgeContext, query: str, response: str, sample: int
) -> DetectorVerdict | str:
    """One Detector call (seed = sample index): the parsed verdict, or the error after bounded retries."""
    prompt = ctx.prompt.render(query, response)
    key = CallKey(sample_key(query, response, sample), ROLE, ctx.scope.principle_version_id)
    try:
        return await ctx.llm.call(key, prompt, DetectorVerdict, seed=sample)
    except AgentCallFailed as exc:
        return exc.error


async def detect_item(ctx: JudgeContext, query: str, response: str) -> JudgeResult:
    """Ask the Detector `samples` times (concurrently) and aggregate; any failed sample fails the item."""
    k = ctx.scope.samples
    if k == 1:
        outcomes = [await detect_sample(ctx, query, response, 0)]
    else:
        outcomes = list(await asyncio.gather(
            *(detect_sample(ctx, query, response, i) for i in range(k))))
    errors = [o for o in outcomes if isinstance(o, str)]
    if errors:
        return JudgeResult(None, None, None, error=f"{len(errors)}/{k} samples failed: {errors[0]}")
    return aggregate([o for o in outcomes if not isinstance(o, str)])


def from_cache(found: CachedJudgment) -> JudgeResult:
    """A stored judgment as a result (cached=True)."""
    return JudgeResult(found.verdict, found.score, found.reason, found.flagged, cached=True)


def storable(result: JudgeResult) -> bool:
    """Whether a result is written to the cache: new, and either judged or flagged (not failed)."""
    return not result.cached and (result.verdict is not None or result.flagged)


def row_for(ctx: JudgeContext, query: str, response: str, key: judgments.TextKey,
            result: JudgeResult) -> dict[str, Any]:
    """The `judgments` row of a result under the context's scope."""
    stored = CachedJudgment(result.verdict, result.score, result.reason, result.flagged)
    return judgments.judgment_row(ctx.scope, query, response, key, stored, ctx.run_id)


def write_rows(ctx: JudgeContext, rows: list[dict[str, Any]]) -> None:
    """Write judgments and the pending agent calls in one transaction."""
    if rows:
        judgments.write(ctx.store, rows, also=ctx.calls.flush if ctx.calls is not None else None)
    elif ctx.calls is not None:
        ctx.calls.flush()


def result_state(result: JudgeResult) -> dict[str, Any]:
    """A result as partial graph state."""
    return {"verdict": result.verdict, "score": result.score, "reason": result.reason,
            "flagged": result.flagged, "cached": result.cached, "error": result.error}


def state_result(state: JudgeState) -> JudgeResult:
    """The result held by a finished graph state."""
    return JudgeResult(state.get("verdict"), state.get("score"), state.get("reason"),
                       bool(state.get("flagged")), bool(state.get("cached")), state.get("error"))


# --- nodes of the `judge` graph (graphs/judge.py) ---------------------------------------------


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
