"""The config of `kindling experiment paper`: the whole study in one YAML file.

Each step names its own config file (the same file its own command reads, relative to the
experiment file) and dotted overrides on top; the experiment fills in what links the steps
(models, runs, output folders). Everything is validated before the first step runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kindling.agents.config import Strict
from kindling.agents.llm.config import LLMConfig
from kindling.agents.paths import ModelRef, PathStr
from kindling.agents.task_ref import TaskRef


class Step(Strict):
    config: str | None = Field(None, description="The step's own config file (as its command reads it), relative to the experiment file.")
    set: dict[str, Any] = Field(default_factory=dict, description="Dotted overrides on top of config, e.g. {trl.max_steps: 20}.")


class BaseStep(Strict):
    model: ModelRef = Field("tiny", description="The base policy: tiny (a small Qwen2 built from config on the imported texts, for CPUs), a hub id or a folder.")
    vocab_size: int = Field(4000, ge=300, description="tiny: the tokenizer's vocabulary.")


class PathAStep(Step):
    dataset: str = Field("grpo_train", description="Imported dataset whose queries the SFT policy answers.")
    queries: int = Field(8, ge=1, description="Queries sampled from the SFT policy (rejection sampling).")
    samples_per_query: int = Field(4, ge=2, le=64, description="Candidates per query, each judged by the agents.")
    pairs_per_query: int | Literal["all"] = Field(1, description="Pairs per query: 1 as the paper's RM data, a number, or all.")
    min_pairs: int = Field(2, ge=1, description="Fewer pairs than this stop the experiment before RM training (too few to learn from).")


class EndpointPolicy(Strict):
    label: str = Field(..., min_length=1, description="Row name in the table, e.g. deepseek-chat.")
    llm: LLMConfig = Field(..., description="The model, sampled through the OpenAI-compatible path (any endpoint; backend local runs the shipped SmolLM2).")


class CompareStep(Strict):
    dataset: str = Field("grpo_test", description="Held-out prompts each policy answers.")
    prompts: int = Field(16, ge=1, description="Prompts per policy.")
    samples_per_prompt: int = Field(2, ge=1, le=16, description="Samples per prompt.")
    max_new_tokens: int = Field(64, ge=1, le=2048, description="Most new tokens per sample.")
    temperature: float = Field(0.9, ge=0, le=2, description="Sampling temperature for every policy.")
    endpoints: list[EndpointPolicy] = Field(default_factory=list, description="Endpoint models compared as baselines (the paper compares GPT-4o and Ernie).")
    labelled_items: int = Field(64, ge=4, description="Labelled items each evaluator's agreement is measured on (held out from Path B's validation and reflection).")
    examples: int = Field(2, ge=0, le=10, description="Sample texts shown per policy.")


class ExperimentConfig(Strict):
    """SFT → Path A → pairs → RM → GRPO-RM; Path B → best S_D → GRPO-judge; the comparison."""

    task: TaskRef | None = Field(None, description="The task of every step (Path A's and Path B's task:, GRPO's kindling.task and its judge's task), and whose language and length unit the agreement and comparison measure in. null: each step's own config says (greetings-zh by default); the import step imports the paper's data only for greetings-zh or when data: is set.")
    workdir: PathStr = Field("experiment", description="Where models, runs and the report go (in the file: relative to it; the default: the current folder).")
    data: PathStr | None = Field(None, description="The paper's dataset/ layout, imported first (null: found as the quickstart finds it: the store, $KINDLING_PAPER_DATA, the download cache).")
    base: BaseStep = Field(default_factory=lambda: BaseStep())
    sft: Step = Field(default_factory=lambda: Step(config="sft_tiny.yaml"))
    path_a: PathAStep = Field(default_factory=lambda: PathAStep(config="curate_local.yaml"))
    rm: Step = Field(default_factory=lambda: Step(config="rm_tiny.yaml"))
    grpo_rm: Step = Field(default_factory=lambda: Step(config="grpo_tiny.yaml"))
    path_b: Step = Field(default_factory=lambda: Step(config="adversarial_local.yaml"))
    grpo_judge: Step = Field(default_factory=lambda: Step(config="grpo_tiny.yaml"))
    compare: CompareStep = Field(default_factory=lambda: CompareStep())
