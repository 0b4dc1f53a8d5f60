"""SQLAlchemy 2 typed models: the whole store (runs, data, agent calls, verdicts, pairs, principles,
GRPO completion samples)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC now (the store keeps all times as naive UTC on every backend)."""
    return datetime.now(UTC).replace(tzinfo=None)


def text_hash(text: str) -> str:
    """Stable content hash used for de-duplication of texts."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


RUN_KINDS = ("import", "curate", "pairs", "adversarial", "judge", "sft", "rm", "grpo", "eval",
             "endpoint")
"""Every kind of run the store holds."""

class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Run(Base):
    """One execution of a job (import, curate, ...), its config (secrets stripped) and outcome."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    run_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    code_version: Mapped[str] = mapped_column(String(64))
    process: Mapped[str | None] = mapped_column(String(255))  # host:pid that opened or resumed it


class Query(Base):
    __tablename__ = "queries"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Response(Base):
    """A text answering a query; origin says where it came from (dataset, llm, policy, adversary)."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("query_id", "text_hash", name="uq_responses_query_text"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)


class Label(Base):
    """A dataset's label for a response (1 good, 0 not)."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("response_id", "dataset", name="uq_labels_response_dataset"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    dataset: Mapped[str] = mapped_column(String(64))
    value: Mapped[int]


class DatasetRecord(Base):
    """Membership of a query/response/pair in an imported file, with its line (row) number."""

    __tablename__ = "dataset_records"
    __table_args__ = (UniqueConstraint("dataset", "line", name="uq_dataset_records_dataset_line"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(String(64), index=True)
    line: Mapped[int]
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), index=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("preference_pairs.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PrincipleVersion(Base):
    """An immutable set of principles (detector S_D, generator S_G, or a judge's rules)."""

    __tablename__ = "principle_versions"
    __table_args__ = (UniqueConstraint("kind", "task", "text_hash",
                                       name="uq_principle_versions_kind_task_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    # the task's name it was made under; NULL (before migration 0004) is read as greetings-zh
    task: Mapped[str | None] = mapped_column(String(200), index=True)
    task_hash: Mapped[str | None] = mapped_column(String(64))  # the task's content hash then
    name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("principle_versions.id"), index=True)
    origin: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    iteration: Mapped[int | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feedback: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunItem(Base):
    """A unit of work of a run, claimed by one worker at a time (lease), then done or failed."""

    __tablename__ = "run_items"
    __table_args__ = (UniqueConstraint("run_id", "item_key", name="uq_run_items_run_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(128))
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]


class AgentCall(Base):
    """Every LLM call attempt, kept: prompt, raw and parsed output, latency, tokens, error."""

    __tablename__ = "agent_calls"
    __table_args__ = (Index("ix_agent_calls_lookup", "run_id", "item_key", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(200))
    template_hash: Mapped[str] = mapped_column(String(64))
    principle_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("principle_versions.id"), index=True
    )
    model: Mapped[str] = mapped_column(String(200))
    input: Mapped[list[Any]] = mapped_column(default=list)
    raw_output: Mapped[str | None] = mapped_column(Text)
    reasoning: Mapped[str | None] = mapped_column(Text)  # a reasoning model's thinking, apart
    parsed_output: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    latency_ms: Mapped[float]
    prompt_tokens: Mapped[int | None]
    cached_tokens: Mapped[int | None]  # of prompt_tokens, served from the provider's cache
    completion_tokens: Mapped[int | None]
    attempt: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verdict(Base):
    """Path A's outcome for one item: initial (judge) and final (after reflection) verdicts."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("run_id", "item_key", name="uq_verdicts_run_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(128))
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    initial_verdict: Mapped[int | None]
    final_verdict: Mapped[int | None]
    judge_reason: Mapped[str | None] = mapped_column(Text)
    reflect_reason: Mapped[str | None] = mapped_column(Text)
    pros: Mapped[list[Any]] = mapped_column(default=list)
    cons: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PreferencePair(Base):
    """(prompt, chosen, rejected) from a dataset import or from a curate run's verdicts."""

    __tablename__ = "preference_pairs"
    __table_args__ = (
        UniqueConstraint("run_id", "chosen_id", "rejected_id", name="uq_preference_pairs_run_pair"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    source_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id"), index=True)
    chosen_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    rejected_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Judgment(Base):
    """The principle-guided judge's cached verdict for one (principle version, model, query, response)."""

    __tablename__ = "judgments"
    __table_args__ = (
        UniqueConstraint("principle_version_id", "model", "query_hash", "response_hash", "samples",
                         name="uq_judgments_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    principle_version_id: Mapped[int] = mapped_column(ForeignKey("principle_versions.id"), index=True)
    model: Mapped[str] = mapped_column(String(200))
    query_hash: Mapped[str] = mapped_column(String(64))
    response_hash: Mapped[str] = mapped_column(String(64))
    samples: Mapped[int] = mapped_column(default=1)
    query: Mapped[str] = mapped_column(Text)
    response: Mapped[str] = mapped_column(Text)
    verdict: Mapped[int | None]
    score: Mapped[float | None]
    reason: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(default=False)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CompletionSample(Base):
    """One of the few completions a GRPO run keeps per logged step: what the policy wrote then,
    each reward function's value and its length (texts cut to a bound; `chars` is the whole)."""

    __tablename__ = "completion_samples"
    __table_args__ = (UniqueConstraint("run_id", "step", "position",
                                       name="uq_completion_samples_run_step_position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step: Mapped[int]  # the logged step (TRL's global step)
    position: Mapped[int]  # its place in that step's generation batch
    prompt: Mapped[str] = mapped_column(Text)
    completion: Mapped[str] = mapped_column(Text)
    rewards: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reward name -> value or null
    reward: Mapped[float | None]  # the weighted total, as GRPO sums it (null: nothing scored)
    advantage: Mapped[float | None]
    chars: Mapped[int]  # the whole completion's length in characters
    tokens: Mapped[int | None]  # its length in tokens (null: not counted)
    hit_cap: Mapped[bool | None]  # cut at max_completion_length tokens (null: not known)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
