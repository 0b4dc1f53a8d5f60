"""The judge as a batch service: what `kindling judge` and GRPO's judge reward call.

`JudgeService.judge_many` answers a batch of (query, response) items with the same steps as the
`judge` graph's nodes (agents/judge/steps.py), without a graph run per item: guard every
response, one SELECT for the cached judgments, Detector calls for the misses (concurrent, bounded
by the item concurrency and by the AgentLLM's max_concurrency), results written in batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.context import JudgeContext
from kindling.agents.judge.prompt import DetectPrompt
from kindling.agents.judge.results import JudgeResult, JudgeStats, screen
from kindling.agents.judge.steps import (
    cached_or_detect,
    new_row,
    record_results,
    stored_results,
    write_rows,
)
from kindling.agents.llm.caller import AgentLLM
from kindling.agents.llm.endpoints import build_chat_model, close_chat_model
from kindling.agents.task import Task, resolve_task, task_prompts
from kindling.agents.templates import PromptLibrary
from kindling.store import judgments
from kindling.store.calls import CallLog
from kindling.store.db import Store
from kindling.store.judgments import JudgmentScope, TextKey
from kindling.store.models import PrincipleVersion
from kindling.store.principles import resolve_version, rules_of
from langchain_core.language_models import BaseChatModel

DETECTOR_KIND = "detector"


class JudgeService:
    """Judges batches of (query, response) under one principle version, model and sample count.

    Args:
        store: where judgments are cached and agent calls recorded.
        llm: the Detector's model; its recorder should be a CallLog of `run_id` (then its attempts
            are written in the same transactions as the judgments).
        version: the detector principle version whose rules the Detector weighs.
        samples: Detector samples per item (self-consistency vote; 1 = a single call).
        run_id: the run the judgments and agent calls belong to.
        concurrency: items in flight at once (default: the LLM's max_concurrency).
        prompts: the template library (default: greetings-zh's).
        language: the task's language, whose guard rules screen responses.
        write_batch: judgments buffered before a write.
        close_chat: close the LLM's chat model in `aclose` (when this service built it).
    """

    def __init__(
        self, store: Store, llm: AgentLLM, version: PrincipleVersion, samples: int, run_id: int,
        *, concurrency: int | None = None, prompts: PromptLibrary | None = None,
        write_batch: int = 128, close_chat: bool = False, language: str = "zh",
    ) -> None:
        if samples < 1:
            raise ValueError(f"samples must be at least 1, got {samples}")
        calls = llm.recorder if isinstance(llm.recorder, CallLog) else None
        self.version = version
        rules = rules_of(version)
        self.context = JudgeContext(
            llm=llm, prompt=DetectPrompt(prompts or task_prompts(), rules), store=store,
            scope=JudgmentScope(version.id, llm.cfg.model, samples), rules=rules,
            run_id=run_id, calls=calls, language=language,
        )
        self.concurrency = concurrency or llm.cfg.max_concurrency
        self.write_batch = write_batch
        self._close_chat = close_chat

    @property
    def stats(self) -> JudgeStats:
        """Counts over every item this service has answered."""
        return self.context.stats

    async def judge_many(self, items: Sequence[tuple[str, str]]) -> list[JudgeResult]:
        """Judge (query, response) items; one result per item, in order; never raises for one item.

        Guard-flagged responses get verdict 0 and score 0.0 without an LLM call; judgments stored
        under the same settings are reused; identical items of a batch are judged once; a call
        that still fails after the bounded retries and re-asks gives verdict None (not cached).
        """
        ctx = self.context
        if ctx.llm.meter is not None:  # what every worker of the run spent, as stored now
            ctx.llm.meter.start_from(ctx.store, ctx.run_id)
        results: list[JudgeResult | None] = [None] * len(items)
        keys = [judgments.text_key(q, r) for q, r in items]
        rows: list[dict[str, Any]] = []
        pending: dict[TextKey, list[int]] = {}
        for i, (query, response) in enumerate(items):
            flagged = screen(response, ctx.language)
            if flagged is None:
                pending.setdefault(keys[i], []).append(i)
                continue
            results[i] = flagged
            if (row := new_row(ctx, query, response, keys[i], flagged)) is not None:
                rows.append(row)
        if pending:
            rows = await self._judge_pending(items, pending, results, rows)
        done = [r for r in results if r is not None]
        assert len(done) == len(items)
        record_results(ctx, rows, done)
        return done

    async def _judge_pending(
        self, items: Sequence[tuple[str, str]], pending: dict[TextKey, list[int]],
        results: list[JudgeResult | None], rows: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """The items the guard let through: one SELECT for their stored judgments, Detector calls
        for the rest (each text once); rows written every `write_batch` results."""
        ctx, slots = self.context, asyncio.Semaphore(self.concurrency)
        cached = stored_results(ctx, pending)

        async def one(key: TextKey, indices: list[int]) -> None:
            query, response = items[indices[0]]
            async with slots:
                result = await cached_or_detect(ctx, query, response, cached.get(key))
            results[indices[0]] = result
            for i in indices[1:]:  # the same text again in this batch: judged once
                results[i] = replace(result, cached=True)
            if (row := new_row(ctx, query, response, key, result)) is not None:
                rows.append(row)
            if len(rows) >= self.write_batch:
                batch = rows[:]
                rows.clear()
                write_rows(ctx, batch)

        try:
            await asyncio.gather(*(one(key, indices) for key, indices in pending.items()))
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): keep what was judged, so the
            write_rows(ctx, rows)  # next run reuses it instead of asking again
            raise
        return rows

    async def aclose(self) -> None:
        """Flush pending agent calls; close the chat model if this service built it."""
        if self.context.calls is not None:
            self.context.calls.flush()
        if self._close_chat:
            await close_chat_model(self.context.llm.chat)
            self._close_chat = False


@dataclass(frozen=True)
class ResolvedJudge:
    """A judge config with its task and principle version resolved, once, at the edge (the
    command, GRPO's setup, the debugger), then passed on as objects."""

    cfg: JudgeConfig
    task: Task
    version: PrincipleVersion

    @property
    def recorded_cfg(self) -> JudgeConfig:
        """The config as a run records it: `principles` the resolved version's id."""
        return self.cfg.model_copy(update={"principles": str(self.version.id)})


def resolve_judge(store: Store, cfg: JudgeConfig, task: Task | None = None) -> ResolvedJudge:
    """`cfg` with its task (`task`, else the config's) and its detector principle version:
    `cfg.principles` (id, name or YAML path), else the task's active detector version, else the
    task's starting detector set (`principles.detector`).

    Raises:
        PrincipleNotFound: the reference names no detector version.
        PrincipleTaskMismatch: a version of another task, unless `cfg.force_task`.
        PrincipleFormatError: a principle file that cannot be read.
        PromptError: the task's files cannot be read.
    """
    task = task if task is not None else resolve_task(cfg.task)
    version = resolve_version(store, cfg.principles, DETECTOR_KIND,
                              task.principles_ref(DETECTOR_KIND), task=task.name,
                              task_hash=task.content_hash, force=cfg.force_task)
    return ResolvedJudge(cfg, task, version)


def build_judge_service(
    store: Store, judge: ResolvedJudge, run_id: int, chat_model: BaseChatModel | None = None,
    *, close_chat: bool | None = None,
) -> JudgeService:
    """A JudgeService for a resolved judge: calls recorded under `run_id`, prompts and guard from
    its task. Without `chat_model` one is built from the config's `llm`; `aclose` closes the
    chat model when this function built it, or when `close_chat` says so.

    Raises:
        LLMConfigError: the model cannot be built (e.g. the API key variable is unset).
    """
    cfg, task = judge.cfg, judge.task
    chat = chat_model if chat_model is not None else build_chat_model(cfg.llm)
    llm = AgentLLM(chat, cfg.llm, CallLog(store, run_id, remember=False))  # judgments cache it
    return JudgeService(store, llm, judge.version, cfg.samples, run_id,
                        concurrency=cfg.concurrency,
                        close_chat=chat_model is None if close_chat is None else close_chat,
                        prompts=task.prompts(), language=task.language)
