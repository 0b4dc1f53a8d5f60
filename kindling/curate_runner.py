"""Runs Path A: creates or resumes a run, claims items, drives the compiled graph per item."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.context import CurateContext
from agents.endpoints import EndpointError, build_chat_model, close_chat_model
from agents.llm import AgentLLM
from agents.retrieval import BM25Retriever, EmbeddingRetriever, Exemplar, Retriever
from agents.templates import PromptLibrary, load_principles
from graphs.curate import build_curate_graph
from kindling.checkpoints import open_checkpointer, unfinished
from kindling.config import CurateConfig, LLMConfig, RetrievalConfig
from kindling.progress import RunProgress
from kindling.version import code_version
from store import queries, work
from store.calls import CallLog
from store.db import Store
from store.errors import UserError
from store.principles import register_version
from store.verdicts import VerdictWriter

POLL_INTERVAL_S = 0.25  # how often the driver claims more items and renews its lease


@dataclass
class CurateOutcome:
    run_id: int
    counts: dict[str, int]
    calls: int
    elapsed_s: float
    resumed_items: int = 0
    errors: list[str] = field(default_factory=list)


def run_key_for(cfg: CurateConfig, principles_text: str) -> str:
    """Same config and principles → same run, so re-running a command resumes it."""
    blob = json.dumps({"cfg": cfg.model_dump(), "principles": principles_text}, sort_keys=True)
    return "curate:" + hashlib.sha256(blob.encode()).hexdigest()[:40]


def select_items(store: Store, cfg: CurateConfig) -> list[dict]:
    if cfg.source == "dataset":
        items = queries.dataset_response_items(store, cfg.dataset, cfg.offset, cfg.limit)
    else:
        items = queries.dataset_query_items(store, cfg.dataset, cfg.offset, cfg.limit,
                                            cfg.samples_per_query)
    if not items:
        raise UserError(no_items_message(store, cfg))
    return items


def no_items_message(store: Store, cfg: CurateConfig) -> str:
    """Why a selection is empty: the dataset is unknown (naming the known ones) or the offset is
    past its end."""
    known = queries.dataset_names(store)
    if cfg.dataset not in known:
        names = ", ".join(sorted(known)) or "none: import data first (kindling data import)"
        return f"field dataset: no imported dataset {cfg.dataset!r} (imported: {names})"
    return (f"field offset: {cfg.offset} is past the end of dataset {cfg.dataset!r} "
            f"(source={cfg.source} has no items from there)")


def build_retriever(store: Store, cfg: RetrievalConfig) -> Retriever:
    corpus = [Exemplar(q, r) for q, r in queries.corpus_pairs(store, cfg.corpus)]
    if cfg.method == "embeddings":
        return EmbeddingRetriever(corpus, cfg.embedding_model)
    return BM25Retriever(corpus, cfg.ngram)


class CurateRunner:
    """One worker of a curate run. Several workers (processes) may share a run on Postgres."""

    def __init__(
        self, store: Store, cfg: CurateConfig, *, new_run: bool = False,
        retry_failed: bool = False, chat_models: dict[str, BaseChatModel] | None = None,
        show_progress: bool = True,
    ) -> None:
        self.store, self.cfg = store, cfg
        self.principles = load_principles(cfg.principles)
        self.new_run, self.retry_failed, self.show_progress = new_run, retry_failed, show_progress
        self._chat_models = chat_models or {}
        self._built: list[BaseChatModel] = []
        self._retriever: Retriever | None = None
        self.llms: dict[str, AgentLLM] = {}  # the roles' callers, once a context is built
        self.worker = work.worker_id()

    def prepare_run(self, items: list[dict]) -> int:
        """Create the run (or find the one this config already started) and its items."""
        key = None if self.new_run else run_key_for(self.cfg, self.principles.text)
        run, _created = work.get_or_create_run(
            self.store, kind="curate", run_key=key, code_version=code_version(),
            config={**self.cfg.model_dump(), "principles_text": self.principles.text},
        )
        work.add_items(self.store, run.id, items)
        if self.retry_failed:
            work.reopen_failed_items(self.store, run.id)
        return run.id

    def check(self) -> list[dict]:
        """Everything that can fail before a run exists: the items, the chat models (an unset key
        variable), the retriever's corpus. Returns the selected items.

        Raises:
            UserError: no items, a model that cannot be built, an empty exemplar corpus.
        """
        items = select_items(self.store, self.cfg)
        self._chat("agents", self.cfg.agents)
        if self.cfg.generator is not None and self.cfg.generator != self.cfg.agents:
            self._chat("generator", self.cfg.generator)
        if self._retriever is None:
            self._retriever = build_retriever(self.store, self.cfg.retrieval)
        return items

    def _chat(self, role: str, cfg: LLMConfig) -> BaseChatModel:
        if role not in self._chat_models:
            self._chat_models[role] = build_chat_model(cfg)
            self._built.append(self._chat_models[role])
        return self._chat_models[role]

    def build_context(self, run_id: int, calls: CallLog) -> CurateContext:
        agents_llm = AgentLLM(self._chat("agents", self.cfg.agents), self.cfg.agents, calls)
        gen_cfg = self.cfg.generator
        generator = agents_llm
        if gen_cfg is not None and gen_cfg != self.cfg.agents:
            generator = AgentLLM(self._chat("generator", gen_cfg), gen_cfg, calls)
        self.llms = {"agents": agents_llm, "generator": generator}
        pv_id = register_version(
            self.store, kind=self.principles.kind, name=self.principles.name,
            text=self.principles.text, origin="file",
        )
        return CurateContext(
            run_id=run_id, agents=agents_llm, generator=generator, prompts=PromptLibrary(),
            principles=self.principles, principle_version_id=pv_id,
            retriever=self._retriever or build_retriever(self.store, self.cfg.retrieval),
            exemplars_k=self.cfg.retrieval.k,
            sink=VerdictWriter(self.store, run_id, (gen_cfg or self.cfg.agents).model, calls),
        )

    async def close(self) -> None:
        """Close the chat models this runner built."""
        for chat in self._built:
            await close_chat_model(chat)
        self._built.clear()

    async def run(self) -> CurateOutcome:
        try:
            items = self.check()
        except BaseException:
            await self.close()
            raise
        run_id = self.prepare_run(items)
        calls = CallLog(self.store, run_id)
        context = self.build_context(run_id, calls)
        started = time.perf_counter()
        try:
            async with open_checkpointer(self.store.url) as saver:
                graph = build_curate_graph().compile(checkpointer=saver)
                driver = _ItemDriver(self, run_id, graph, context, calls)
                with RunProgress(work.item_counts(self.store, run_id), calls,
                                 enabled=self.show_progress) as progress:
                    driver.progress = progress
                    await driver.drain()
        finally:
            calls.flush()
            work.record_modes(self.store, run_id, {r: llm.mode for r, llm in self.llms.items()})
            await self.close()
        counts = work.item_counts(self.store, run_id)
        if not counts.get("pending") and not counts.get("claimed"):
            work.finish_run(self.store, run_id, "finished", {"items": counts})
        return CurateOutcome(run_id, counts, calls.calls_made, time.perf_counter() - started,
                             driver.resumed, driver.crashes)


class _ItemDriver:
    """Keeps up to `concurrency` items in flight, claiming more as slots free up."""

    def __init__(self, runner: CurateRunner, run_id: int, graph: Any, context: CurateContext,
                 calls: CallLog) -> None:
        self.runner, self.run_id, self.graph, self.context, self.calls = (
            runner, run_id, graph, context, calls)
        self.progress: RunProgress | None = None
        self.resumed = 0
        self.crashes: list[str] = []

    async def drain(self) -> None:
        cfg, store = self.runner.cfg, self.runner.store
        inflight: set[asyncio.Task] = set()
        last_beat = time.monotonic()
        while True:
            free = cfg.concurrency - len(inflight)
            if free >= max(1, cfg.concurrency // 4):
                for item in self._claim(free):
                    inflight.add(asyncio.create_task(self._run_item(item)))
            if not inflight:
                return
            done, inflight = await asyncio.wait(
                inflight, timeout=POLL_INTERVAL_S, return_when=asyncio.FIRST_COMPLETED)
            refused = next((t.exception() for t in done if t.exception() is not None), None)
            if refused is not None:  # the endpoint refused the request: stop, give items back
                await self._stop(inflight)
                raise refused
            if time.monotonic() - last_beat > cfg.lease_s / 3:
                work.renew_lease(store, self.run_id, self.runner.worker, cfg.lease_s)
                last_beat = time.monotonic()

    async def _stop(self, inflight: set[asyncio.Task]) -> None:
        """Cancel the items in flight and make every item this worker holds pending again."""
        for task in inflight:
            task.cancel()
        await asyncio.gather(*inflight, return_exceptions=True)
        work.release_items(self.runner.store, self.run_id, self.runner.worker)

    def _claim(self, n: int) -> list[dict]:
        store = self.runner.store
        claimed = work.claim_items(store, self.run_id, self.runner.worker, n, self.runner.cfg.lease_s)
        if not claimed:
            return []
        self.calls.prefetch([c.item_key for c in claimed if c.attempts > 1])
        return item_inputs(store, claimed)

    async def _start_point(self, item: dict, attempts: int) -> tuple[dict | None, dict]:
        """Where an item's graph run starts: fresh, from its last checkpoint, or on a new thread."""
        thread = f"curate:{self.run_id}:{item['item_key']}"
        config = {"configurable": {"thread_id": thread}}
        if attempts == 1:
            return item, config
        self.resumed += 1
        snapshot = await self.graph.aget_state(config)
        if unfinished(snapshot):
            return None, config  # interrupted: continue from the last checkpoint
        if not snapshot.values:
            return item, config  # never checkpointed
        # the thread ran to its end (a failed item opened again): a fresh thread, cached calls reused
        return item, {"configurable": {"thread_id": f"{thread}:{attempts}"}}

    async def _run_item(self, item: dict) -> None:
        attempts = item.pop("attempts")
        try:
            start_from, config = await self._start_point(item, attempts)
            result = await self.graph.ainvoke(start_from, config, context=self.context,
                                              durability=self.runner.cfg.checkpoint_durability)
            ok = result.get("final_verdict") is not None
        except EndpointError:
            raise  # every item would fail the same way: the run stops (drain)
        except Exception as exc:  # noqa: BLE001 - a bug, not an LLM fault: record it, keep going
            message = f"{type(exc).__name__}: {exc}"
            self.crashes.append(f"{item['item_key']}: {message}")
            self.context.sink.persist({**item, "errors": [f"graph: {message}"]})
            ok = False
        self.calls.forget(item["item_key"])
        if self.progress is not None:
            self.progress.item_finished(ok)


def item_inputs(store: Store, claimed: list[work.ClaimedItem]) -> list[dict]:
    """The graph's input for each claimed item (texts looked up in one query each)."""
    qtexts, rtexts = queries.texts_for(
        store, {c.query_id for c in claimed}, {c.response_id for c in claimed if c.response_id})
    return [{
        "item_key": c.item_key, "query_id": c.query_id, "query": qtexts[c.query_id],
        "response_id": c.response_id, "candidate": rtexts.get(c.response_id),
        "sample_index": _sample_index(c.item_key), "attempts": c.attempts,
    } for c in claimed]


def _sample_index(item_key: str) -> int:
    return int(item_key.rsplit("s", 1)[1]) if item_key.startswith("q") else 0
