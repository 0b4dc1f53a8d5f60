"""The principle-guided judge's config: principle version, self-consistency samples, concurrency, model."""

from __future__ import annotations

from kindling.agents.budget import BudgetConfig, budget_field
from kindling.agents.config import Strict
from kindling.agents.llm.config import LLMConfig
from kindling.agents.paths import PrincipleRef
from kindling.agents.task_ref import TaskRef, force_task_field, task_field
from pydantic import Field


class JudgeConfig(Strict):
    """Path B's principle-guided judge: verdict, score and reason per (query, response)."""

    task: TaskRef = task_field()
    force_task: bool = force_task_field()
    principles: PrincipleRef | None = Field(None, description="Detector principle version: an id, a name under prompts/principles/, or a YAML path. None: the active detector version of the task, else the task's principles.detector (detector_initial for greetings-zh).")
    samples: int = Field(1, ge=1, le=32, description="Self-consistency: samples per item (distinct seeds, at llm.temperature); the verdict is the majority, the score the fraction judged Good.")
    concurrency: int = Field(64, ge=1, description="Items judged at once; their calls are further bounded by llm.max_concurrency.")
    llm: LLMConfig = Field(default_factory=lambda: LLMConfig(), description="Chat model that judges (the Detector).")
    budget: BudgetConfig = budget_field()
