"""Path B's loop state and runtime context (one LangGraph thread per adversarial run)."""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from agents.llm.caller import AgentLLM
from agents.templates import PromptLibrary


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
    best_f1: float | None
    best_sd_id: int | None
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
    new_version: Callable[..., int]
    validate: Callable[[int, list[str]], Awaitable[dict[str, Any]]]
    calls_used: Callable[[], int]
