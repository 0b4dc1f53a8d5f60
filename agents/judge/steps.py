"""The judge's steps that touch the model or the store, one implementation for the `judge` graph's
nodes (agents/judge/nodes.py, one item) and `JudgeService.judge_many` (agents/judge/service.py, a
batch).

One item is judged as: guard (pure, `results.screen`; a flagged response gets verdict 0, score 0.0
and no LLM call) → cache (`stored_results`: a stored judgment under the same principle version,
model and sample count; one SELECT for a batch) → `cached_or_detect`: that judgment, else k
Detector samples (distinct seeds, concurrent) and their majority vote (score = fraction of samples
judged Good) → `new_row`: the row a new judgment writes → `record_results`: rows and agent calls
written in one transaction, the results counted.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Collection
from typing import Any

from kindling.agents.judge.context import JudgeContext
from kindling.agents.judge.prompt import ROLE
from kindling.agents.judge.results import JudgeResult, aggregate, from_cache, storable
from kindling.agents.judge.schemas import DetectorVerdict
from kindling.agents.llm.caller import AgentCallFailed, CallKey
from kindling.store import judgments
from kindling.store.judgments import CachedJudgment, TextKey


def sample_key(query: str, response: str, sample: int) -> str:
    """The agent-call item key of one Detector sample: "j" + 16 hex digits of a SHA-256."""
    digest = hashlib.sha256(f"{query}\x1f{response}\x1f{sample}".encode()).hexdigest()
    return "j" + digest[:16]


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


def stored_results(ctx: JudgeContext, keys: Collection[TextKey]) -> dict[TextKey, JudgeResult]:
    """The judgments stored for these texts under the context's scope, as results: one SELECT."""
    found = judgments.lookup(ctx.store, ctx.scope, keys) if keys else {}
    return {key: from_cache(stored) for key, stored in found.items()}


async def cached_or_detect(ctx: JudgeContext, query: str, response: str,
                           cached: JudgeResult | None) -> JudgeResult:
    """An item the guard let through: its stored judgment (`cached`, from `stored_results`), else
    the Detector's samples and their vote."""
    return cached if cached is not None else await detect_item(ctx, query, response)


def new_row(ctx: JudgeContext, query: str, response: str, key: TextKey,
            result: JudgeResult) -> dict[str, Any] | None:
    """The `judgments` row a result writes under the context's scope; None for a result that is
    not stored (cached, or failed)."""
    if not storable(result):
        return None
    stored = CachedJudgment(result.verdict, result.score, result.reason, result.flagged)
    return judgments.judgment_row(ctx.scope, query, response, key, stored, ctx.run_id)


def write_rows(ctx: JudgeContext, rows: list[dict[str, Any]]) -> None:
    """Write judgments and the pending agent calls in one transaction."""
    if rows:
        judgments.write(ctx.store, rows, also=ctx.calls.flush if ctx.calls is not None else None)
    elif ctx.calls is not None:
        ctx.calls.flush()


def record_results(ctx: JudgeContext, rows: list[dict[str, Any]],
                   results: list[JudgeResult]) -> None:
    """Write the rows not yet written (with the pending agent calls) and count the results."""
    write_rows(ctx, rows)
    for result in results:
        ctx.stats.add(result)
