"""The judge's steps that touch the model or the store: Detector samples and their vote, and the
rows new judgments write.

One item is judged as: guard (pure; a flagged response gets verdict 0, score 0.0 and no LLM call)
→ cache (a stored judgment under the same principle version, model and sample count) → k Detector
samples (distinct seeds, concurrent) → majority vote (score = fraction of samples judged Good)
→ recorded in the store. `JudgeService` (agents/judge/service.py) runs these steps over batches;
the `judge` graph (graphs/judge.py, nodes in agents/judge/nodes.py) one item at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from kindling.agents.judge.context import JudgeContext
from kindling.agents.judge.prompt import ROLE
from kindling.agents.judge.results import JudgeResult, aggregate
from kindling.agents.judge.schemas import DetectorVerdict
from kindling.agents.llm.caller import AgentCallFailed, CallKey
from kindling.store import judgments
from kindling.store.judgments import CachedJudgment


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
