"""Path B's loop state and runtime context (one LangGraph thread per adversarial run)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from kindling.agents.llm.caller import AgentLLM
from kindling.agents.templates import PromptLibrary
from kindling.store.db import Store
from kindling.store.principles import register_version


class AdversarialState(TypedDict, total=False):
    iteration: int
    sd_id: int
    sd_rules: list[str]
    sg_id: int
    sg_rules: list[str]
    queries: list[str]
    detections: list[dict[str, Any]]
    labelled: list[dict[str, Any]]
    predictions: list[dict[str, Any]]
    reflections: list[str]
    refused: list[str]  # this iteration's refused Optimizer rules, `rule: why`
    best_f1: float | None
    best_sd_id: int | None
    best_sd_rules: list[str]
    start_f1: float | None  # the starting S_D's validation F1 (validate_start)
    stale: int
    history: Annotated[list[dict[str, Any]], operator.add]
    stop: str | None


@dataclass
class AdversarialContext:
    """Everything the nodes need; built by the runner, never module globals."""

    run_id: int
    generator: AgentLLM
    detector: AgentLLM
    optimizer: AgentLLM
    prompts: PromptLibrary
    query_pool: list[str]
    reflection_pool: list[dict[str, Any]]
    batch_size: int
    labelled_batch_size: int
    max_rules: int
    max_iterations: int
    call_budget: int | None
    patience: int
    seed: int
    store: Store
    held_out: list[dict[str, Any]]  # labelled {query, response, label}, never reflected on
    length_threshold: int  # the length-only baseline shown beside every validation figure
    calls_used: Callable[[], int]
    rewrites: str = "sequential"  # one Optimizer rewrite per feedback item, or one per phase
    length_unit: str = "chars"  # the task's length unit, for the length-only baseline
    language: str = "zh"  # the task's language, for the judge's guard
    task: str = "greetings-zh"  # the task's name, recorded with every version the loop stores
    task_hash: str | None = None

    def new_version(self, *, kind: str, rules: list[str], parent_id: int, iteration: int,
                    feedback: str) -> int:
        """Store a rewritten S_D or S_G as a new principle version of this run (origin optimizer)."""
        return register_version(self.store, kind=kind, name=f"run{self.run_id}-it{iteration}",
                                text="\n".join(rules), origin="optimizer", parent_id=parent_id,
                                run_id=self.run_id, iteration=iteration, feedback=feedback,
                                task=self.task, task_hash=self.task_hash)
