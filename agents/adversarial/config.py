"""Path B's run config: iterations, batches, the validation split, stop rules, the roles' models."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from kindling.agents.budget import BudgetConfig, budget_field
from kindling.agents.config import Strict
from kindling.agents.llm.config import LLMConfig
from kindling.agents.paths import PrincipleRef
from kindling.agents.task_ref import TaskRef, force_task_field, task_field
from kindling.agents.templates import PromptOrder, prompt_order_field
from pydantic import Field


class AdversarialConfig(Strict):
    """Path B: the Generator-vs-Detector loop with reflection that rewrites the Detector's principles."""

    task: TaskRef = task_field()
    force_task: bool = force_task_field()
    iterations: int = Field(3, ge=1, le=200, description="Most iterations (adversarial phase, reflection phase, validation).")
    batch_size: int = Field(4, ge=1, le=256, description="Queries per adversarial phase (one flawed greeting each).")
    labelled_batch_size: int = Field(8, ge=1, le=512, description="Labelled examples the Detector judges per reflection phase.")
    validation_size: int = Field(40, ge=2, description="Held-out labelled examples that validate each S_D (never used for reflection).")
    validation_fraction: float = Field(0.3, gt=0, lt=1, description="Share of the labelled queries held out for validation.")
    query_dataset: str = Field("random_query", description="Imported dataset whose queries the Generator writes for.")
    labelled_dataset: str = Field("evaluation_set", description="Imported dataset with labels, split into reflection and validation parts.")
    detector_principles: PrincipleRef | None = Field(None, description="Starting S_D: a version id, a name under prompts/principles/, or a YAML path. None: the active detector version of the task, else the task's principles.detector (detector_initial for greetings-zh).")
    generator_strategies: PrincipleRef | None = Field(None, description="Starting S_G, as for detector_principles. None: the active generator version of the task, else the task's principles.generator (generator_initial for greetings-zh).")
    rewrites: Literal["sequential", "batched"] = Field("sequential", description="sequential: one Optimizer rewrite per feedback item (a caught greeting, a fooled one, a reflected mistake), in order, as the seed's adversarial/main.py; batched: one rewrite per phase from all its feedback (fewer calls; Kindling's earlier default).")
    prompt_order: PromptOrder = prompt_order_field()
    max_rules: int = Field(10, ge=1, le=10, description="Most rules an optimized S_D or S_G may hold.")
    call_budget: int | None = Field(None, ge=1, description="Stop after the iteration in which this many LLM attempts (all roles) were reached.")
    budget: BudgetConfig = budget_field()
    patience: int = Field(2, ge=1, description="Stop after this many iterations without a gain in validation F1.")
    seed: int = Field(0, description="Seeds query and example sampling and the validation split (a resumed run draws the same).")
    length_threshold: int | None = Field(None, ge=0, description="Length-only baseline shown beside every validation figure: good iff longer than this, in the task's length unit. null: 39 characters for greetings-zh (the paper data's rule), for any other task fitted on the reflection split's labels (never on the validation split).")
    llm: LLMConfig = Field(default_factory=lambda: LLMConfig(), description="Chat model of every role unless generator/optimizer are set (the Detector always uses it).")
    generator: LLMConfig | None = Field(None, description="Chat model of the Generator (defaults to llm).")
    optimizer: LLMConfig | None = Field(None, description="Chat model of the Optimizer and Reflector (defaults to llm).")

    RUN_KEY_DEFAULTS: ClassVar[dict[str, Any]] = {"prompt_order": "paper"}
    """Part of the run key only when not the order every run before the field used."""
