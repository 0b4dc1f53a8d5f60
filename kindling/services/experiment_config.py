"""The config of `kindling experiment paper`: the whole study in one YAML file.

Each step names its own config file (the same file its own command reads, relative to the
experiment file) and dotted overrides on top; the experiment fills in what links the steps
(models, runs, output folders). Everything is validated before the first step runs.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kindling.agents.budget import BudgetConfig
from kindling.agents.config import Strict
from kindling.agents.llm.config import LLMConfig
from kindling.agents.paths import ModelRef, PathStr
from kindling.agents.task_ref import TaskRef


class Step(Strict):
    config: str | None = Field(None, description="The step's own config file (as its command reads it), relative to the experiment file.")
    set: dict[str, Any] = Field(default_factory=dict, description="Dotted overrides on top of config, e.g. {trl.max_steps: 20}.")


class Launch(Strict):
    """How a training step's process is started (every step runs in a process of its own)."""

    processes: int = Field(1, ge=1, le=64, description="Training processes, one per GPU; more than 1 starts the step under `accelerate launch` (gloo on the CPU), one process runs `kindling train` as it is.")
    accelerate_config: str | None = Field(None, description="The accelerate config used with more than one process (accelerate/fsdp.yaml, zero3.yaml, ddp.yaml), relative to the experiment file as a step's config: is; null: accelerate's default config.")
    isolate: bool = Field(True, description="true: each step that loads a model runs in a process of its own (all GPU memory free at its start); false: in the experiment's own process, which saves each step's start-up where that costs more than the step (small CPU runs; one process only).")

    @model_validator(mode="after")
    def _one_process_in_place(self) -> Launch:
        if not self.isolate and self.processes > 1:
            raise ValueError("isolate: false runs a step in this process: processes must be 1")
        return self

    @property
    def accelerated(self) -> bool:
        return self.processes > 1


class Devices(Strict):
    """The GPUs the plan checks memory against when it sees none (planning on a laptop)."""

    count: int = Field(1, ge=1, le=64, description="GPUs on the machine the study will run on.")
    memory_gib: float = Field(80.0, gt=0, le=4096, description="Memory of each, in GiB (an A100/H100 80GB: 80).")


class TrainStep(Step):
    launch: Launch | None = Field(None, description="This step's launcher settings (null: the experiment's launch:).")


class BaseStep(Strict):
    model: ModelRef = Field("tiny", description="The base policy: tiny (a small Qwen2 built from config on the imported texts, for CPUs), a hub id or a folder.")
    vocab_size: int = Field(4000, ge=300, description="tiny: the tokenizer's vocabulary.")
    folder: str = Field("models/base", min_length=1, description="tiny: where it is built, relative to the workdir.")


class GRPOArm(TrainStep):
    """One more GRPO policy trained from the SFT one with the reward model (its own rewards)."""

    label: str = Field(..., min_length=1, max_length=60, description="Its name in the comparison, e.g. grpo-rm+length.")


class RMEvalStep(Strict):
    """The reward model's pairwise accuracy on held-out pairs and its agreement with labels."""

    pairs_dataset: str = Field("rm_test", description="Imported pairs it is scored on (of the import run).")
    limit: int | None = Field(None, ge=1, description="At most this many pairs and labelled items (null: all).")


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
    labels_limit: int | None = Field(None, ge=1, description="Without Path B (no agreement step): the RM's excellence threshold is fitted on at most this many labelled items (null: all).")
    examples: int = Field(2, ge=0, le=10, description="Sample texts shown per policy.")


SKIPPABLE = ("path_a", "path_b", "grpo_judge", "rm_eval")
"""Steps that `null` or `false` leaves out (with the steps that need them)."""


class ExperimentConfig(Strict):
    """SFT → Path A → pairs → RM → GRPO-RM; Path B → best S_D → GRPO-judge; the comparison.

    Path A, Path B and GRPO with the judge can be left out (null or false): without Path A the
    reward model trains on the imported pairs (rm's own kindling.pairs_dataset), without Path B
    GRPO's judge uses its config's principles (the task's active S_D) and there is no agreement
    step. `grpo_arms` trains more GRPO policies with the reward model; `rm_eval` scores it on
    held-out pairs."""

    task: TaskRef | None = Field(None, description="The task of every step (Path A's and Path B's task:, GRPO's kindling.task and its judge's task), and whose language and length unit the agreement and comparison measure in. null: each step's own config says (greetings-zh by default); the import step imports the paper's data only for greetings-zh or when data: is set.")
    workdir: PathStr = Field("experiment", description="Where models, runs and the report go (in the file: relative to it; the default: the current folder).")
    data: PathStr | None = Field(None, description="The paper's dataset/ layout, imported first (null: found as the quickstart finds it: the store, $KINDLING_PAPER_DATA, the download cache).")
    budget: BudgetConfig = Field(default_factory=lambda: BudgetConfig(), description="The whole study's money: max_cost for every agent step together (each step gets what is left; the study stops between calls when it is spent and resumes with a raised budget), prices as a run config's budget.prices. null max_cost: no limit.")
    launch: Launch = Field(default_factory=lambda: Launch(), description="How training steps start (a step's own launch: wins): processes and an accelerate config.")
    devices: Devices | None = Field(None, description="The GPUs the plan checks memory against when this machine has none (null: the ones it sees; none seen, memory is estimated but not checked).")
    base: BaseStep = Field(default_factory=lambda: BaseStep())
    sft: TrainStep = Field(default_factory=lambda: TrainStep(config="sft_tiny.yaml"))
    path_a: PathAStep | None = Field(default_factory=lambda: PathAStep(config="curate_local.yaml"), description="Path A (null or false: none; the RM trains on the imported pairs).")
    rm: TrainStep = Field(default_factory=lambda: TrainStep(config="rm_tiny.yaml"))
    rm_eval: RMEvalStep | None = Field(None, description="The RM scored on held-out imported pairs and labels (null: not run).")
    grpo_rm: TrainStep = Field(default_factory=lambda: TrainStep(config="grpo_tiny.yaml"))
    grpo_arms: dict[str, GRPOArm] = Field(default_factory=dict, description="More GRPO policies with the RM, by step name (grpo_<name>; trained into runs/<step name>), e.g. {grpo_rm_lc: {label: grpo-rm+length, config: grpo_tiny.yaml}}.")
    path_b: Step | None = Field(default_factory=lambda: Step(config="adversarial_local.yaml"), description="Path B (null or false: none; GRPO's judge keeps its config's principles).")
    grpo_judge: TrainStep | None = Field(default_factory=lambda: TrainStep(config="grpo_tiny.yaml"), description="GRPO with the LLM judge (null or false: none).")
    compare: CompareStep = Field(default_factory=lambda: CompareStep())

    @field_validator(*SKIPPABLE, mode="before")
    @classmethod
    def _false_skips(cls, value: Any) -> Any:
        return None if value is False else value  # --set path_b=false (a null override is unset)

    @field_validator("grpo_arms")
    @classmethod
    def _arm_names(cls, arms: dict[str, GRPOArm]) -> dict[str, GRPOArm]:
        for name in arms:
            if not re.fullmatch(r"grpo_[a-z0-9_]{1,40}", name) or name in ("grpo_rm", "grpo_judge"):
                raise ValueError(f"{name!r}: an arm's step name is grpo_ and lower-case letters, "
                                 "digits or _ (not grpo_rm or grpo_judge)")
        return arms
