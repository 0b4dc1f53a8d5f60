"""Scoring policy samples for `kindling eval policy`: a reward model and/or the principled judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.config import ConfigError, load_config, parse_sets
from agents.judge.config import JudgeConfig
from agents.llm.endpoints import LLMConfigError
from agents.templates import PromptError
from kindling.context import console, fail
from store.db import Store
from store.principles import PrincipleNotFound

Samples = dict[str, list[tuple[str, str]]]
"""Policy label → its (prompt, completion) samples, flattened over prompts."""


def load_judge_config(store: Store, principles: str | None, config: Path | None,
                      sets: list[str]) -> JudgeConfig | None:
    """The judge's config when --principles or --judge-config is given (else None), checked.

    Raises:
        ValueError: a bad config, an unknown principle version, or an unset API key variable.
    """
    import os

    from agents.judge.service import DEFAULT_PRINCIPLES, DETECTOR_KIND
    from store.principles import resolve_version

    if principles is None and config is None:
        if sets:
            raise ValueError("--set configures the judge: give --principles or --judge-config too")
        return None
    overrides = parse_sets(sets)
    if principles is not None:
        overrides["principles"] = principles
    try:
        cfg = load_config(JudgeConfig, config, overrides)
        resolve_version(store, cfg.principles, DETECTOR_KIND, DEFAULT_PRINCIPLES)
    except (ConfigError, PromptError, PrincipleNotFound) as exc:
        raise ValueError(str(exc)) from exc
    if cfg.llm.backend == "openai" and not os.environ.get(cfg.llm.api_key_env):
        raise ValueError(f"llm.api_key_env: environment variable {cfg.llm.api_key_env} is not set "
                         "(any non-empty value for servers without auth)")
    return cfg


def score_with_rm(store: Store, path: str, samples: Samples, labels: str,
                  threshold: float | None, batch_size: int,
                  max_length: int = 512) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """RM scores per policy and the excellence threshold (given, or fitted on `labels`)."""
    from rl.evaluate.policy import rm_threshold_on_labels
    from rl.evaluate.reward_model import score_texts
    from rl.reward_model import load_reward_model

    try:
        model, tokenizer = load_reward_model(path)
        with console.status(f"scoring with the reward model {path}"):
            fit = ({"threshold": threshold, "given": True} if threshold is not None else
                   rm_threshold_on_labels(model, tokenizer, store, labels,
                                          batch_size=batch_size, max_length=max_length))
            scores = {label: score_texts(model, tokenizer, [p for p, _ in items],
                                         [s for _, s in items], batch_size=batch_size,
                                         max_length=max_length)
                      for label, items in samples.items()}
    except ValueError as exc:
        fail(f"--rm {path}: {exc}")
        raise AssertionError("unreachable") from exc
    return scores, fit


def judge_samples(store: Store, cfg: JudgeConfig,
                  samples: Samples) -> tuple[dict[str, list[int | None]], int]:
    """Every sample judged in one `judge` run (cached, so repeated texts cost nothing)."""
    from kindling.commands.judge import execute_judge

    items = [item for policy_items in samples.values() for item in policy_items]
    try:
        run_id, results = execute_judge(store, cfg, items, {"eval_policy": list(samples)})
    except (PromptError, PrincipleNotFound, LLMConfigError) as exc:
        fail(str(exc))
        raise AssertionError("unreachable") from exc
    verdicts: dict[str, list[int | None]] = {}
    start = 0
    for label, policy_items in samples.items():
        verdicts[label] = [r.verdict for r in results[start:start + len(policy_items)]]
        start += len(policy_items)
    return verdicts, run_id
