"""Evaluate reward models and policies, each as a stored `eval` run (the commands print the tables).

`kindling eval rm`, `kindling eval policy` and the quickstart call these; so can a notebook:

    from kindling.services.evaluation import compare_policies
    comparison = compare_policies(store, [("sft", "runs/sft")], prompts, SamplingConfig())
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kindling.agents.config import load_config, parse_sets
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.agents.judge.service import ResolvedJudge, resolve_judge
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.keys import require_api_key
from kindling.agents.paths import stored_model
from kindling.agents.task import Task, resolve_task
from kindling.agents.task_ref import TASK_KEY, task_record
from kindling.context import console
from kindling.rl.evaluate.metrics import DEFAULT_BAND_EDGES
from kindling.rl.evaluate.policy import SamplingConfig
from kindling.services.judge import execute_judge
from kindling.store import work
from kindling.store.db import Store
from kindling.store.errors import FlagError
from kindling.store.eval_names import eval_run_name
from kindling.store.models import utcnow
from kindling.store.version import code_version

EXAMPLES_STORED = 5

Samples = dict[str, list[tuple[str, str]]]
"""Policy label → its (prompt, completion) samples, flattened over prompts."""


@dataclass(frozen=True)
class PolicyComparison:
    """Figures per policy label, what they were scored with, and the stored `eval` run."""

    report: dict[str, dict[str, Any]]
    eval_run_id: int
    samples: Samples
    rm_scores: dict[str, list[float]] = field(default_factory=dict)
    rm_fit: dict[str, Any] | None = None
    verdicts: dict[str, list[int | None]] = field(default_factory=dict)
    judge_run_id: int | None = None
    length_rule: dict[str, Any] = field(default_factory=dict)


def evaluate_and_store_rm(
    store: Store, model: str, *, pairs_run: int, pairs_dataset: str | None = "rm_test",
    dataset: str = "evaluation_set", threshold_split: float = 0.3, limit: int | None = None,
    length_threshold: int | None = DEFAULT_THRESHOLD, edges: tuple[int, ...] = DEFAULT_BAND_EDGES,
    batch_size: int = 32, max_length: int = 512, task: Task | None = None,
) -> tuple[dict[str, Any], int]:
    """A reward model's pairwise accuracy and agreement with labels, stored as an `eval` run.

    Lengths are in the task's unit (greetings-zh's characters by default); `length_threshold`
    None fits the length baseline on the threshold split.

    Returns:
        (the figures, the eval run's id).

    Raises:
        ValueError: the model cannot be loaded, no pairs or labelled items, a one-sided split.
    """
    from kindling.rl.evaluate.reward_model import evaluate_reward_model
    from kindling.rl.reward_model import load_reward_model

    started = utcnow()
    task = task if task is not None else resolve_task(None)
    rm_model, tokenizer = load_reward_model(model)
    metrics = evaluate_reward_model(
        store, rm_model, tokenizer, pairs_run=pairs_run, pairs_dataset=pairs_dataset,
        dataset=dataset, threshold_split=threshold_split, limit=limit,
        length_threshold=length_threshold, edges=edges, batch_size=batch_size,
        max_length=max_length, length_unit=task.length_unit)
    config = {"source": "rm", "model": stored_model(model), "pairs_run": pairs_run,
              "pairs_dataset": pairs_dataset, "dataset": dataset,
              "threshold_split": threshold_split, "limit": limit,
              "threshold": metrics["agreement"]["threshold"],
              "threshold_fitted": length_threshold is None, "band_edges": list(edges),
              TASK_KEY: task_record(task)}
    return metrics, _store_eval(store, config, metrics, started)


def resolve_judge_flags(store: Store, principles: str | None, config: Path | None,
                      sets: list[str], task: str | None = None) -> ResolvedJudge | None:
    """The judge when --principles or --judge-config is given (else None), its task and
    principle version resolved: the one named, else the task's active or starting detector set.
    `task` (--task) wins over the config's `task:`.

    Raises:
        FlagError: --set without --principles or --judge-config.
        ConfigError, PromptError, PrincipleNotFound: a bad config, task or principle version.
        LLMConfigError: an unset API key variable.
    """
    if principles is None and config is None:
        if sets:
            raise FlagError("--set configures the judge: give --principles or --judge-config too")
        return None
    overrides = parse_sets(sets)
    if principles is not None:
        overrides["principles"] = principles
    if task is not None:
        overrides["task"] = task
    cfg = load_config(JudgeConfig, config, overrides)
    judge = resolve_judge(store, cfg)
    if cfg.llm.backend == "openai":
        require_api_key(cfg.llm.api_key_env, "llm.api_key_env")
    return judge


def compare_policies(
    store: Store, policies: list[tuple[str, str]], prompts: list[str], sampling: SamplingConfig,
    *, prompts_dataset: str, rm: str | None = None, rm_threshold: float | None = None,
    labels: str = "evaluation_set", judge: ResolvedJudge | None = None,
    length_threshold: int | None = DEFAULT_THRESHOLD,
    endpoints: dict[str, LLMConfig] | None = None, labels_limit: int | None = None,
    task: Task | None = None, length_rule: dict[str, Any] | None = None,
) -> PolicyComparison:
    """Sample each policy on `prompts`, score (RM and/or judge) and measure, store an `eval` run.

    `policies` are (label, folder or hub id); `endpoints` (label → chat model) are sampled
    through the OpenAI-compatible path with the same prompts and sampling, as baselines. The RM's
    threshold, unless given, is fitted on the first `labels_limit` labelled items (default all).
    Lengths, distinct-n and self-BLEU follow the task (greetings-zh by default); a
    `length_threshold` of None is the task's default (39 characters for greetings-zh, else fitted
    on the first `labels_limit` items of `labels`); a `length_rule` already made
    (`task_measures.length_rule`) is used as it is.

    Raises:
        ValueError: a reward model that cannot be loaded or scored.
        PrincipleNotFound, PromptError, LLMConfigError: the judge cannot start.
    """
    from kindling.rl.evaluate.policy import policy_metrics
    from kindling.services.task_measures import length_rule as make_rule

    started = utcnow()
    task = task if task is not None else resolve_task(None)
    rule = length_rule or make_rule(store, task, length_threshold, labels, labels_limit)
    length_threshold = rule["threshold"]
    generated = {label: _sample(path, prompts, sampling) for label, path in policies}
    failed: dict[str, int] = {}
    for label, llm in (endpoints or {}).items():
        generated[label], failed[label] = _sample_endpoint(llm, prompts, sampling)
    flat = {label: [(p, s) for p, group in zip(prompts, groups, strict=True)
                    for s in group if s is not None]
            for label, groups in generated.items()}
    rm_scores, rm_fit = (score_with_rm(store, rm, flat, labels, rm_threshold, sampling.batch_size,
                                       labels_limit=labels_limit) if rm else ({}, None))
    verdicts, judge_run = judge_samples(store, judge, flat) if judge else ({}, None)
    threshold = rm_fit["threshold"] if rm_fit else None
    report = {label: policy_metrics([s for _, s in items], rm_scores=rm_scores.get(label),
                                    rm_threshold=threshold, judge_verdicts=verdicts.get(label),
                                    length_threshold=length_threshold,
                                    language=task.language, length_unit=task.length_unit)
              for label, items in flat.items()}
    for label, count in failed.items():
        report[label]["failed_samples"] = count
    config = {"source": "policy", "policies": {k: stored_model(v) for k, v in policies},
              "endpoints": {k: v.model_dump() for k, v in (endpoints or {}).items()}, "prompts": prompts_dataset,
              "limit": len(prompts), "sampling": sampling.__dict__, "rm": stored_model(rm), "rm_fit": rm_fit,
              "judge_run": judge_run, "length_threshold": length_threshold, "length_rule": rule,
              TASK_KEY: task_record(task)}
    metrics = {"policies": report, "examples": {label: items[:EXAMPLES_STORED]
                                                for label, items in flat.items()}}
    return PolicyComparison(report, _store_eval(store, config, metrics, started), flat, rm_scores,
                            rm_fit, verdicts, judge_run, rule)


def score_with_rm(store: Store, path: str, samples: Samples, labels: str,
                  threshold: float | None, batch_size: int, max_length: int = 512,
                  labels_limit: int | None = None) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """RM scores per policy and the excellence threshold (given, or fitted on `labels`, its first
    `labels_limit` items if given).

    Raises:
        FlagError: the reward model cannot be loaded or scored (named by its path).
    """
    from kindling.rl.evaluate.policy import rm_threshold_on_labels
    from kindling.rl.evaluate.reward_model import score_texts
    from kindling.rl.reward_model import load_reward_model

    try:
        model, tokenizer = load_reward_model(path)
        with console.status(f"scoring with the reward model {path}"):
            fit = ({"threshold": threshold, "given": True} if threshold is not None else
                   rm_threshold_on_labels(model, tokenizer, store, labels,
                                          batch_size=batch_size, max_length=max_length,
                                          limit=labels_limit))
            scores = {label: score_texts(model, tokenizer, [p for p, _ in items],
                                         [s for _, s in items], batch_size=batch_size,
                                         max_length=max_length)
                      for label, items in samples.items()}
    except ValueError as exc:
        raise FlagError(f"--rm {path}: {exc}") from exc
    return scores, fit


def judge_samples(store: Store, judge: ResolvedJudge,
                  samples: Samples) -> tuple[dict[str, list[int | None]], int]:
    """Every sample judged in one `judge` run (cached, so repeated texts cost nothing)."""
    items = [item for policy_items in samples.values() for item in policy_items]
    outcome = execute_judge(store, judge, items, {"eval_policy": list(samples)})
    verdicts: dict[str, list[int | None]] = {}
    start = 0
    for label, policy_items in samples.items():
        verdicts[label] = [r.verdict for r in outcome.results[start:start + len(policy_items)]]
        start += len(policy_items)
    return verdicts, outcome.run_id


def _sample(path: str, prompts: list[str], sampling: SamplingConfig) -> list[list[str]]:
    from kindling.rl.evaluate.policy import sample_policy
    from kindling.rl.policy_loading import load_policy

    with console.status(f"sampling {path} on {len(prompts)} prompts"):
        model, tokenizer = load_policy(path)
        result = sample_policy(model, tokenizer, prompts, sampling)
    del model
    gc.collect()
    return result


def _sample_endpoint(llm: LLMConfig, prompts: list[str],
                     sampling: SamplingConfig) -> tuple[list[list[str | None]], int]:
    """An endpoint model's samples (None where one failed for good) and how many failed."""
    import asyncio

    from kindling.agents.llm.endpoints import build_chat_model, close_chat_model
    from kindling.agents.llm.free_text import sample_endpoint

    async def run() -> tuple[list[list[str | None]], int]:
        chat = build_chat_model(llm)
        try:
            got = await sample_endpoint(chat, llm, prompts, sampling.samples_per_prompt,
                                        temperature=sampling.temperature,
                                        max_tokens=sampling.max_new_tokens)
        finally:
            await close_chat_model(chat)
        for error in got.errors[:3]:
            console.print(f"[yellow]{llm.model}: a sample failed after retries: {error}[/]")
        return got.texts, got.failed

    with console.status(f"sampling endpoint {llm.model} on {len(prompts)} prompts"):
        return asyncio.run(run())


def _store_eval(store: Store, config: dict[str, Any], metrics: dict[str, Any],
                started: datetime) -> int:
    """The evaluation as a finished `eval` run, started when its work began."""
    eval_run, _ = work.get_or_create_run(store, kind="eval", run_key=None, config=config,
                                         code_version=code_version(),
                                         name=eval_run_name(config), started_at=started)
    work.finish_run(store, eval_run.id, "finished", metrics)
    return eval_run.id
