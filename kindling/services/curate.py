"""Runs Path A: creates or resumes a run, claims items, drives the compiled graph per item."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from kindling.agents.budget import BUDGET_KEY, CostMeter, check_budget, llm_models
from kindling.agents.curate.config import CurateConfig, RetrievalConfig
from kindling.agents.curate.context import CurateContext
from kindling.agents.curate.policy_backends import PolicyBackend
from kindling.agents.curate.policy_sampler import PolicySampler
from kindling.agents.llm.caller import AgentLLM
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.endpoints import build_chat_model, close_chat_model
from kindling.agents.llm.errors import EndpointError
from kindling.agents.retrieval import BM25Retriever, EmbeddingRetriever, Exemplar, Retriever
from kindling.agents.run_key import key_fields
from kindling.agents.task import Task, resolve_task
from kindling.agents.task_ref import TASK_KEY, forced_config, task_record
from kindling.checkpoints import open_checkpointer
from kindling.graphs.curate import build_curate_graph
from kindling.progress import RunProgress
from kindling.services.curate_driver import ItemDriver
from kindling.services.policy_source import open_policy, policy_path
from kindling.store import queries, work
from kindling.store.calls import CallLog
from kindling.store.curate_verdicts import VerdictWriter
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.models import PrincipleVersion
from kindling.store.principle_io import PrincipleSet
from kindling.store.principle_tasks import version_task
from kindling.store.principles import (
    as_principle_set,
    get_version,
    register_version,
    resolve_version,
)
from kindling.store.run_endings import end_run_early
from kindling.store.version import code_version

PATH_A_KIND = "debate_judge"
"""The kind of principle set Path A's judge weighs (prompts/principles/path_a_judge.yaml)."""


@dataclass
class CurateOutcome:
    run_id: int
    counts: dict[str, int]
    calls: int
    elapsed_s: float
    resumed_items: int = 0
    errors: list[str] = field(default_factory=list)


def run_key_for(cfg: CurateConfig, principles_text: str, task_hash: str = "") -> str:
    """Same config, principles and task files → same run, so re-running a command resumes it
    (the budget is left out: a raised budget resumes the run it stopped; so is what only changes
    how fast prompts are answered, see `agents.run_key`)."""
    blob = json.dumps({"cfg": key_fields(cfg, exclude={BUDGET_KEY}),
                       "principles": principles_text, **({"task": task_hash} if task_hash else {})},
                      sort_keys=True)
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


def build_retriever(store: Store, cfg: RetrievalConfig, default_corpus: str = "sft") -> Retriever:
    """Exemplars from `cfg.corpus`, else `default_corpus` (the task's exemplars dataset)."""
    corpus = [Exemplar(q, r) for q, r in queries.corpus_pairs(store,
                                                              cfg.corpus or default_corpus)]
    if cfg.method == "embeddings":
        return EmbeddingRetriever(corpus, cfg.embedding_model)
    return BM25Retriever(corpus, cfg.ngram)


def path_a_version(store: Store, cfg: CurateConfig, task: Task) -> PrincipleVersion | None:
    """The version of the rules Path A's judge weighs, resolved as every principle set is:
    `principles` (an id, a name or a file), else the task's active debate_judge version, else the
    task's principles.debate_judge file; None under the paper's prompts, which take none.

    Raises:
        PrincipleNotFound: no such version or file, or a set of another kind.
        PrincipleTaskMismatch: a version of another task, unless `force_task`.
    """
    if cfg.prompt_set == "paper":
        return None
    return resolve_version(store, cfg.principles, PATH_A_KIND, task.principles_ref(PATH_A_KIND),
                           task=task.name, task_hash=task.content_hash, force=cfg.force_task)


class CurateRunner:
    """One worker of a curate run. Several workers (processes) may share a run on Postgres."""

    def __init__(
        self, store: Store, cfg: CurateConfig, *, new_run: bool = False,
        retry_failed: bool = False, chat_models: dict[str, BaseChatModel] | None = None,
        show_progress: bool = True, name: str | None = None, task: Task | None = None,
    ) -> None:
        self.store, self.cfg, self.name = store, cfg, name
        self.task = task if task is not None else resolve_task(cfg.task)
        self.version = path_a_version(store, cfg, self.task)
        self.new_run, self.retry_failed, self.show_progress = new_run, retry_failed, show_progress
        self._chat_models = chat_models or {}
        self._built: list[BaseChatModel] = []
        self._retriever: Retriever | None = None
        self._policy: tuple[str, PolicyBackend] | None = None  # (path, backend) when cfg.policy
        self.sampler: PolicySampler | None = None
        self.llms: dict[str, AgentLLM] = {}  # the roles' callers, once a context is built
        self.meter: CostMeter | None = None  # budget.max_cost, once checked
        self.worker = work.worker_id()

    def prepare_run(self, items: list[dict]) -> int:
        """Create the run (or find the one this config already started) and its items."""
        key = None if self.new_run else run_key_for(self.cfg, self.principles_text(),
                                                    self.task.content_hash)
        run, created = work.get_or_create_run(
            self.store, kind="curate", run_key=key, code_version=code_version(), name=self.name,
            config=self.run_config())
        if not created:
            work.reopen_run(self.store, run.id)  # a run stopped earlier is running again
            work.merge_config(self.store, run.id, {BUDGET_KEY: self.cfg.budget.model_dump()})
        work.add_items(self.store, run.id, items)
        if self.retry_failed:
            work.reopen_failed_items(self.store, run.id)
        return run.id

    def run_config(self) -> dict:
        """What a run of this runner records: the config, the rules' text, the task, a version of
        another task it was forced to use, and the policy's folder."""
        return {**self.cfg.model_dump(), "principles_text": self.principles_text(),
                TASK_KEY: task_record(self.task), **forced_config(self.task, self.version),
                **({"policy_path": self._policy[0]} if self._policy else {})}

    def principles_text(self) -> str:
        """The rules the judge weighs; empty under the paper's prompts, which use none."""
        return "" if self.principles is None else self.principles.text

    @property
    def principles(self) -> PrincipleSet | None:
        """The rules the judge weighs (None under the paper's prompts, which use none)."""
        return None if self.version is None else as_principle_set(self.version)

    def use_rules(self, text: str) -> None:
        """Judge under `text` instead (a debugger fork keeps its source run's rules): the
        version of those rules under the same name and task, registered if new."""
        if self.version is None:
            return
        v = self.version
        self.version = get_version(self.store, register_version(
            self.store, kind=v.kind, name=v.name, text=text, origin="manual",
            task=version_task(v), task_hash=v.task_hash))

    def check(self) -> list[dict]:
        """Everything that can fail before a run exists: the items, the chat models (an unset key
        variable), the retriever's corpus. Returns the selected items.

        Raises:
            UserError: no items, a model that cannot be built or loaded, an empty exemplar corpus.
        """
        items = select_items(self.store, self.cfg)
        # the policy's `run:ID` is looked up in the store (cheap) before the chat model is built
        # (a local backend starts llama.cpp's server); the policy is loaded after it
        path = (policy_path(self.store, self.cfg.policy)
                if self.cfg.policy is not None and self._policy is None else None)
        self._chat("agents", self.cfg.llm)
        if self.cfg.policy is not None and path is not None:
            self._policy = (path, open_policy(path, self.cfg.policy))
        if self.cfg.generator is not None and self.cfg.generator != self.cfg.llm:
            self._chat("generator", self.cfg.generator)
        if self._retriever is None:
            self._retriever = self._build_retriever()
        models, local = llm_models(self.cfg.llm, self.cfg.generator)
        policy = {self._policy[0]} if self._policy else set()  # sampled here: no bill
        self.meter = check_budget(self.cfg.budget, models, local | policy)
        return items

    def _build_retriever(self) -> Retriever:
        return build_retriever(self.store, self.cfg.retrieval, self.task.spec.exemplars)

    def _chat(self, role: str, cfg: LLMConfig) -> BaseChatModel:
        if role not in self._chat_models:
            self._chat_models[role] = build_chat_model(cfg)
            self._built.append(self._chat_models[role])
        return self._chat_models[role]

    def build_context(self, run_id: int, calls: CallLog) -> CurateContext:
        agents_llm = AgentLLM(self._chat("agents", self.cfg.llm), self.cfg.llm, calls)
        gen_cfg = self.cfg.generator
        generator = agents_llm
        if gen_cfg is not None and gen_cfg != self.cfg.llm:
            generator = AgentLLM(self._chat("generator", gen_cfg), gen_cfg, calls)
        self.llms = {"agents": agents_llm, "generator": generator}
        if self.meter is not None:
            self.meter.start_from(self.store, run_id)
            for llm in self.llms.values():
                llm.meter = self.meter
        self.sampler = self._sampler(calls)
        pv_id = None if self.version is None else self.version.id
        return CurateContext(
            run_id=run_id, agents=agents_llm, generator=generator,
            prompts=self.task.prompts(order=self.cfg.prompt_order),
            principles=self.principles, principle_version_id=pv_id,
            retriever=self._retriever or self._build_retriever(),
            exemplars_k=self.cfg.retrieval.k,
            sink=VerdictWriter(self.store, run_id, self.candidate_writer(), calls),
            policy=self.sampler, prompt_set=self.cfg.prompt_set,
        )

    def _sampler(self, calls: CallLog) -> PolicySampler | None:
        if self._policy is None or self.cfg.policy is None:
            return None
        path, backend = self._policy
        return PolicySampler(backend, calls, model_name=path,
                             samples_per_query=self.cfg.samples_per_query,
                             batch_queries=self.cfg.policy.batch_queries, seed=self.cfg.policy.seed)

    def candidate_writer(self) -> str:
        """The model name stored with each verdict as the candidate's writer."""
        if self._policy is not None:
            return self._policy[0]
        return (self.cfg.generator or self.cfg.llm).model

    def items_in_flight(self) -> int:
        """Items driven at once: `concurrency`, or enough for the policy to fill one batch while
        it generates another (twice `batch_queries` queries with all their samples)."""
        if self.cfg.policy is None:
            return self.cfg.concurrency
        batch = self.cfg.policy.batch_queries * self.cfg.samples_per_query
        return max(self.cfg.concurrency, 2 * batch)

    async def close(self) -> None:
        """Close the chat models this runner built and stop the policy's batching."""
        if self.sampler is not None:
            await self.sampler.aclose()
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
                driver = ItemDriver(self, run_id, graph, context, calls)
                with RunProgress(work.item_counts(self.store, run_id), calls,
                                 enabled=self.show_progress) as progress:
                    driver.progress = progress
                    await driver.drain()
        except EndpointError as exc:  # every item would fail the same way: stopped, resumable
            work.stop_run(self.store, run_id, str(exc), {"items": work.item_counts(self.store,
                                                                                   run_id)})
            raise
        except BaseException as exc:  # Ctrl-C, SIGTERM (stopped) or a bug (failed): resumable
            end_run_early(self.store, run_id, exc, worker=self.worker)
            raise
        finally:
            calls.flush()
            work.record_modes(self.store, run_id, {r: llm.mode for r, llm in self.llms.items()})
            await self.close()
        counts = work.item_counts(self.store, run_id)
        if not counts.get("pending") and not counts.get("claimed"):
            work.finish_run(self.store, run_id, "finished", {"items": counts})
        return CurateOutcome(run_id, counts, calls.calls_made, time.perf_counter() - started,
                             driver.resumed, driver.crashes)
