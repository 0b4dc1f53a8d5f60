"""Path A's run config: which items, how candidates are written, retrieval, the agents' model."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from kindling.agents.budget import BudgetConfig, budget_field
from kindling.agents.config import Strict
from kindling.agents.llm.config import LLMConfig
from kindling.agents.paths import ModelRef, PrincipleRef
from kindling.agents.task_ref import TaskRef, force_task_field, task_field
from kindling.agents.templates import PromptOrder, prompt_order_field
from pydantic import Field, model_validator


class RetrievalConfig(Strict):
    method: Literal["bm25", "embeddings"] = Field("bm25", description="bm25: offline BM25 over character n-grams; embeddings: sentence-transformers.")
    k: int = Field(3, ge=0, le=20, description="Exemplars per query.")
    ngram: int = Field(2, ge=1, le=4, description="Character n-gram size for BM25.")
    embedding_model: ModelRef = Field("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", description="Model for method=embeddings (hub id or path).")
    corpus: str | None = Field(None, description="Dataset whose responses serve as exemplars (None: the task's exemplars dataset, sft for greetings-zh).")


class PolicyConfig(Strict):
    """The small model itself as Path A's candidate writer (rejection sampling from the policy):
    batched generation, every sample of a query and several queries in one generate call."""

    model: ModelRef = Field(..., description="The policy: a folder written by save_pretrained, a hub id, or run:ID (an sft or grpo run's output).")
    backend: Literal["auto", "transformers", "vllm"] = Field("auto", description="auto: vLLM when it is installed and a GPU is visible, else transformers (in this process).")
    batch_queries: int = Field(8, ge=1, le=1024, description="Most queries per generate call (each with all its samples); the driver keeps twice batch_queries x samples_per_query items in flight, so one batch fills while another generates.")
    max_new_tokens: int = Field(96, ge=1, le=4096, description="Most new tokens per sample.")
    temperature: float = Field(0.9, ge=0, le=2, description="Sampling temperature (0: greedy, then one sample per query is enough).")
    top_p: float = Field(0.95, gt=0, le=1, description="Nucleus sampling mass.")
    top_k: int = Field(50, ge=0, description="Sample among the k likeliest tokens (0: all); 50 is transformers' default, as in kindling eval policy.")
    seed: int = Field(0, description="Seeds each generate call (with its first query's id), so a rerun of the same batches draws the same samples.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="Weight dtype when loading the policy.")


class CurateConfig(Strict):
    """Path A: multi-agent rejection sampling over a set of items."""

    task: TaskRef = task_field()
    force_task: bool = force_task_field()
    source: Literal["dataset", "generate"] = Field("dataset", description="dataset: judge existing responses; generate: sample candidates per query.")
    dataset: str = Field("evaluation_set", description="Which imported dataset to take items (responses or queries) from.")
    limit: int | None = Field(None, ge=1, description="Take at most this many items (queries when generating).")
    offset: int = Field(0, ge=0, description="Skip this many items first.")
    samples_per_query: int = Field(2, ge=1, le=64, description="generate: candidates per query.")
    prompt_set: Literal["paper", "kindling"] = Field("paper", description="paper: the seed's method (nine named dimensions per debater with a worked example and {point, reason} findings, a strict judge weighing only the two analyses, exemplars only in the generation prompt); kindling: Kindling's shorter prompts, whose judge and reflector also read a principle set and whose debaters see exemplars.")
    prompt_order: PromptOrder = prompt_order_field()
    principles: PrincipleRef | None = Field(None, description="prompt_set kindling: principle set for the judge (kind debate_judge): a version id, a name under prompts/principles/ or a YAML path (default: the task's active debate_judge version, else its principles.debate_judge file, path_a_judge for greetings-zh). The paper's judge takes none.")
    concurrency: int = Field(8, ge=1, description="Items processed at once by this worker.")
    checkpoint_durability: Literal["sync", "async", "exit"] = Field("async", description="LangGraph checkpoint writes: after every step (sync/async, steppable) or only when an item ends (exit, fastest; resume then relies on the stored agent calls).")
    lease_s: float = Field(300.0, gt=0, description="How long a claimed item stays reserved for a worker without heartbeat.")
    llm: LLMConfig = Field(default_factory=lambda: LLMConfig(), description="Chat model for advocate, critic, judge, reflect.")
    budget: BudgetConfig = budget_field()
    generator: LLMConfig | None = Field(None, description="Chat model that writes candidates (defaults to llm).")
    policy: PolicyConfig | None = Field(None, description="generate: sample candidates from this policy model in batches instead of asking the generator chat model.")
    retrieval: RetrievalConfig = Field(default_factory=lambda: RetrievalConfig(), description="How exemplars are found for each query.")

    RUN_KEY_DEFAULTS: ClassVar[dict[str, Any]] = {"prompt_order": "paper"}
    """Part of the run key only when not the order every run before the field used."""

    @model_validator(mode="after")
    def _principles_need_kindling(self) -> CurateConfig:
        if self.principles is not None and self.prompt_set == "paper":
            raise ValueError("principles is set but prompt_set is 'paper': the paper's Path A "
                             "judge weighs only the advocate's and critic's analyses and reads "
                             "no principle list; set prompt_set: kindling to judge by principles")
        return self

    @model_validator(mode="after")
    def _one_candidate_writer(self) -> CurateConfig:
        if self.policy is not None and self.source != "generate":
            raise ValueError("policy is set but source is 'dataset': set source: generate "
                             "(the policy writes candidates) or remove policy")
        if self.policy is not None and self.generator is not None:
            raise ValueError("both generator and policy are set: candidates come from one of "
                             "them; remove one")
        return self
