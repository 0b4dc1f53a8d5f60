"""Runs Path B: the adversarial principle-optimization loop as one resumable LangGraph thread."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from kindling.agents.adversarial.config import AdversarialConfig
from kindling.agents.adversarial.state import AdversarialContext, AdversarialState
from kindling.agents.budget import BUDGET_KEY, CostMeter, check_budget, llm_models
from kindling.agents.judge.metrics import DEFAULT_THRESHOLD, fit_length_threshold
from kindling.agents.language import DEFAULT_UNIT
from kindling.agents.llm.caller import AgentLLM
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.endpoints import build_chat_model, close_chat_model
from kindling.agents.llm.errors import EndpointError
from kindling.agents.run_key import key_fields
from kindling.agents.task import DEFAULT_TASK, Task, resolve_task
from kindling.agents.task_ref import TASK_KEY, forced_config, task_record
from kindling.checkpoints import open_checkpointer, unfinished
from kindling.graphs.adversarial import STEPS, build_adversarial_graph
from kindling.store import queries, work
from kindling.store.calls import CallLog
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.eval_data import labelled_items, split
from kindling.store.models import PrincipleVersion
from kindling.store.principles import (
    resolve_version,
    rules_of,
)
from kindling.store.run_endings import end_run_early
from kindling.store.version import code_version


@dataclass
class AdversarialOutcome:
    run_id: int
    history: list[dict[str, Any]]
    best_sd_id: int | None
    stop: str | None


class AdversarialRunner:
    """Creates or resumes an adversarial run and drives the loop to a stop rule."""

    def __init__(self, store: Store, cfg: AdversarialConfig, *, new_run: bool = False,
                 chat_models: dict[str, BaseChatModel] | None = None,
                 on_iteration: Any = None, name: str | None = None,
                 length_unit: str | None = None, task: Task | None = None) -> None:
        self.store, self.cfg, self.new_run, self.name = store, cfg, new_run, name
        self.task = task if task is not None else resolve_task(cfg.task)
        # the task's unit for the validation's length baseline (a given unit wins)
        self.length_unit = length_unit or self.task.length_unit
        self._chat_models = chat_models or {}
        self._built: list[BaseChatModel] = []
        self.on_iteration = on_iteration
        self.llms: dict[str, AgentLLM] = {}  # the roles' callers, once a context is built
        self.meter: CostMeter | None = None  # budget.max_cost, once checked

    def _run_key(self) -> str | None:
        return None if self.new_run else adversarial_run_key(self.cfg, self.task.content_hash)

    def _chat(self, role: str, cfg: LLMConfig) -> BaseChatModel:
        if role not in self._chat_models:
            self._chat_models[role] = build_chat_model(cfg)
            self._built.append(self._chat_models[role])
        return self._chat_models[role]

    def _llm(self, role: str, cfg: LLMConfig, calls: CallLog) -> AgentLLM:
        return AgentLLM(self._chat(role, cfg), cfg, calls)

    def _check_models(self) -> None:
        """Build every role's chat model (an unset key variable fails here, before any run)."""
        self._chat("agents", self.cfg.llm)
        for role in ("generator", "optimizer"):
            role_cfg = getattr(self.cfg, role)
            if role_cfg is not None:
                self._chat(role, role_cfg)
        self.meter = check_budget(self.cfg.budget, *llm_models(
            self.cfg.llm, self.cfg.generator, self.cfg.optimizer))

    def _pools(self) -> tuple[list[str], list[dict], list[dict]]:
        items = queries.dataset_query_items(self.store, self.cfg.query_dataset, 0, None, 1)
        texts, _ = queries.texts_for(self.store, {i["query_id"] for i in items}, set())
        labelled = labelled_items(self.store, self.cfg.labelled_dataset)
        if not texts or not labelled:
            raise UserError(f"need queries (query_dataset {self.cfg.query_dataset!r}) and "
                            f"labelled items (labelled_dataset {self.cfg.labelled_dataset!r}): "
                            "import them first (kindling data import) or name other datasets")
        validation, reflection = split(labelled, self.cfg.validation_fraction, self.cfg.seed)
        as_dict = [{"query": x.query, "response": x.response, "label": x.label}
                   for x in reflection]
        held_out = [{"query": x.query, "response": x.response, "label": x.label}
                    for x in validation[: self.cfg.validation_size]]
        return sorted(texts.values()), as_dict, held_out

    def _context(self, run_id: int, calls: CallLog, held_out: list[dict],
                 pools: tuple[list[str], list[dict]]) -> AdversarialContext:
        agents = self.cfg.llm
        detector = self._llm("agents", agents, calls)
        generator = self._llm("generator", self.cfg.generator, calls) if self.cfg.generator \
            else detector
        optimizer = self._llm("optimizer", self.cfg.optimizer, calls) if self.cfg.optimizer \
            else detector
        self.llms = {"detector": detector, "generator": generator, "optimizer": optimizer}
        if self.meter is not None:
            self.meter.start_from(self.store, run_id)
            for llm in self.llms.values():
                llm.meter = self.meter
        prompts = self.task.prompts(order=self.cfg.prompt_order)
        return AdversarialContext(
            run_id=run_id, generator=generator, detector=detector, optimizer=optimizer,
            prompts=prompts, query_pool=pools[0], reflection_pool=pools[1],
            batch_size=self.cfg.batch_size, labelled_batch_size=self.cfg.labelled_batch_size,
            rewrites=self.cfg.rewrites,
            max_rules=self.cfg.max_rules, max_iterations=self.cfg.iterations,
            call_budget=self.cfg.call_budget, patience=self.cfg.patience, seed=self.cfg.seed,
            store=self.store, held_out=held_out,
            length_threshold=validation_length_threshold(self.cfg.length_threshold, pools[1],
                                                         self.length_unit, self.task.name),
            length_unit=self.length_unit, language=self.task.language,
            task=self.task.name, task_hash=self.task.content_hash,
            calls_used=lambda: calls.stored_before + calls.calls_made,
        )

    def starting_versions(self) -> tuple[PrincipleVersion, PrincipleVersion]:
        """S_D and S_G to start from (the task's, unless force_task lets another task's in)."""
        where = {"task": self.task.name, "task_hash": self.task.content_hash,
                 "force": self.cfg.force_task}
        return (resolve_version(self.store, self.cfg.detector_principles, "detector",
                                self.task.principles_ref("detector"), **where),
                resolve_version(self.store, self.cfg.generator_strategies, "generator",
                                self.task.principles_ref("generator"), **where))

    def initial_state(self) -> AdversarialState:
        sd, sg = self.starting_versions()
        return {"iteration": 0, "sd_id": sd.id, "sd_rules": rules_of(sd), "sg_id": sg.id,
                "sg_rules": rules_of(sg), "best_f1": None, "best_sd_id": None,
                "best_sd_rules": rules_of(sd), "start_f1": None, "refused": [], "stale": 0,
                "stop": None}

    def open_run(self, extra_config: dict[str, Any] | None = None
                 ) -> tuple[int, AdversarialContext, RunnableConfig, CallLog]:
        """Create (or find) the run; its graph context, thread config and call log.

        The data, the chat models and the starting principle versions are checked first, so a
        precondition error leaves no run behind.
        """
        query_pool, reflection_pool, held_out = self._pools()
        self._check_models()
        starting = self.starting_versions()
        run, created = work.get_or_create_run(
            self.store, kind="adversarial", run_key=self._run_key(),
            config={**self.cfg.model_dump(), TASK_KEY: task_record(self.task),
                    **forced_config(self.task, *starting), **(extra_config or {})},
            code_version=code_version(), name=self.name)
        if not created:
            work.reopen_run(self.store, run.id)  # a run stopped earlier is running again
            work.merge_config(self.store, run.id, {BUDGET_KEY: self.cfg.budget.model_dump()})
        calls = CallLog(self.store, run.id)
        calls.prefetch_run()
        context = self._context(run.id, calls, held_out, (query_pool, reflection_pool))
        config: RunnableConfig = {
            "configurable": {"thread_id": f"adversarial:{run.id}"},
            "recursion_limit": len(STEPS) * (self.cfg.iterations + 1) + 10}
        return run.id, context, config, calls

    async def close(self) -> None:
        """Close the chat models this runner built."""
        for chat in self._built:
            await close_chat_model(chat)
        self._built.clear()

    async def run(self) -> AdversarialOutcome:
        try:
            run_id, context, config, calls = self.open_run()
        except BaseException:
            await self.close()
            raise
        try:
            async with open_checkpointer(self.store.url) as saver:
                graph = build_adversarial_graph().compile(checkpointer=saver)
                snapshot = await graph.aget_state(config)
                start = None if unfinished(snapshot) else self.initial_state()
                if snapshot.values and not unfinished(snapshot):
                    return self.finish(run_id, snapshot.values)  # already finished
                async for update in graph.astream(start, config, context=context,
                                                  stream_mode="updates"):
                    node = next((n for n in ("validate_start", "validate") if n in update), None)
                    if node is not None and self.on_iteration is not None:
                        self.on_iteration(update[node]["history"][-1])
                final = (await graph.aget_state(config)).values
        except EndpointError as exc:  # no request can succeed now: stopped, resumable
            work.stop_run(self.store, run_id, str(exc), {})
            raise
        except BaseException as exc:  # Ctrl-C, SIGTERM (stopped) or a bug (failed): resumable
            end_run_early(self.store, run_id, exc)
            raise
        finally:
            calls.flush()
            work.record_modes(self.store, run_id, {r: llm.mode for r, llm in self.llms.items()})
            await self.close()
        return self.finish(run_id, final)

    def finish(self, run_id: int, state: dict[str, Any]) -> AdversarialOutcome:
        """Mark the run finished with its iteration history, best S_D and stop reason."""
        history = state.get("history", [])
        refused = sum(len(r.get("refused_rules") or []) for r in history)
        work.finish_run(self.store, run_id, "finished",
                        {"history": history, "best_sd_id": state.get("best_sd_id"),
                         "start_sd_id": history[0]["sd_id"] if history else None,
                         "refused_rules": refused, "stop": state.get("stop")})
        return AdversarialOutcome(run_id, history, state.get("best_sd_id"), state.get("stop"))


def adversarial_run_key(cfg: AdversarialConfig, task_hash: str) -> str:
    """Same config (but the budget, and what only changes how fast prompts are answered) and
    task files → same run, so re-running the command resumes it."""
    blob = json.dumps({**key_fields(cfg, exclude={BUDGET_KEY}), "task_hash": task_hash},
                      sort_keys=True)
    return "adversarial:" + hashlib.sha256(blob.encode()).hexdigest()[:40]


def validation_length_threshold(given: int | None, reflection: list[dict],
                                unit: str = DEFAULT_UNIT, task: str = DEFAULT_TASK) -> int:
    """The threshold of the length baseline beside Path B's validation figures: `given`; when
    None, the paper's 39 characters for greetings-zh, else the most accurate one on the reflection
    split's labels (never the validation split's)."""
    if given is not None:
        return given
    if task == DEFAULT_TASK:
        return DEFAULT_THRESHOLD
    return fit_length_threshold([(x["response"], x["label"]) for x in reflection], unit).threshold
