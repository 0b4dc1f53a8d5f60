"""`kindling train grpo`: TRL's GRPOTrainer on store prompts with named rewards; the run goes to the store.

`prepare_grpo` does every check and load first (policy, prompts, prompt lengths, reward
ingredients: reference lengths, reward model, principle version, API key), writing nothing to the
store on error; `train_grpo` then opens the `grpo` run, builds the rewards (the judge's calls are
recorded under that run), trains, and closes the judge on TRL's reward event loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kindling.agents.budget import BudgetSpent, check_budget, llm_models
from kindling.agents.language import text_length
from kindling.agents.llm.keys import require_api_key
from kindling.agents.task import Task, resolve_task
from kindling.rl.data import EmptyDataError, prompt_dataset
from kindling.rl.grpo_samples import (
    CompletionSampler,
    completion_log,
    count_tokens,
    stop_token_ids,
)
from kindling.rl.grpo_watch import GRPOMetricsCallback, length_band_of, watch_rewards
from kindling.rl.precision import (
    compute_dtype,
    frozen_reference_in_compute_dtype,
    weight_dtype,
)
from kindling.rl.rewards.registry import RewardContext, build_rewards
from kindling.rl.rewards.trl_helpers import soft_overlong_arguments
from kindling.rl.run_lifecycle import (
    fit,
    record_failure,
    record_stopped,
    record_success,
    start_run,
)
from kindling.rl.train_config import ConfigError, KindlingGRPO
from kindling.rl.training_model import ModelLoadError, chat_policy, lora_config
from kindling.rl.trl_config import build_trainer
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.queries import corpus_pairs

if TYPE_CHECKING:
    from kindling.agents.judge.service import ResolvedJudge

CLOSE_TIMEOUT_S = 30.0


class PromptTooLongError(UserError):
    """Prompts exceed kindling.max_prompt_length tokens."""


@dataclass
class GRPOSetup:
    """Everything checked and loaded before a run starts (so errors come before any training)."""

    kcfg: KindlingGRPO
    trl_cfg: Any
    model: Any
    tokenizer: Any
    dataset: Any
    peft_config: Any | None
    context: RewardContext = field(default_factory=RewardContext)
    judge: ResolvedJudge | None = None  # the judge reward's config, task and principle version
    task: Task | None = None  # kindling.task, loaded


def check_prompt_lengths(tokenizer: Any, dataset: Any, limit: int | None) -> None:
    """Prompts with the chat template applied must fit `limit` tokens (None: no check).

    Raises:
        PromptTooLongError: naming how many prompts are too long, the longest and the limit.
    """
    if limit is None:
        return
    lengths = [len(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True,
                                                 tokenize=True, return_dict=False))
               for row in dataset]
    over = [n for n in lengths if n > limit]
    if over:
        raise PromptTooLongError(
            f"{len(over)} of {len(lengths)} prompts are longer than kindling.max_prompt_length="
            f"{limit} tokens (longest {max(over)}): raise the limit or drop those prompts")


def check_vllm(trl_cfg: Any) -> None:
    """trl.use_vllm needs vllm importable (an optional extra).

    Raises:
        ConfigError: use_vllm is true and vllm is not installed.
    """
    if getattr(trl_cfg, "use_vllm", False) and importlib.util.find_spec("vllm") is None:
        raise ConfigError("trl.use_vllm needs the optional extra: pip install 'kindling[vllm]' "
                         "(or set trl.use_vllm: false to generate with transformers)")


def _reference_lengths(store: Store, dataset: str, unit: str = "chars") -> list[int]:
    lengths = [text_length(response, unit) for _, response in corpus_pairs(store, dataset)]
    if not lengths:
        raise EmptyDataError(f"length_control: dataset {dataset!r} (kindling.length_dataset) has no "
                             "responses in the store: import first (`kindling data import`)")
    return lengths


def _policy_lengths(model: Any, tokenizer: Any, dataset: Any, prompts: int, trl_cfg: Any,
                    unit: str = "chars") -> list[int]:
    """Lengths (in `unit`) of the starting policy's completions on the first prompts, sampled as
    GRPO will sample them (temperature, completion limit)."""
    from kindling.rl.evaluate.policy import SamplingConfig, sample_policy

    texts = [row["prompt"][-1]["content"] for row in dataset.select(range(min(prompts, len(dataset))))]
    padding_side = tokenizer.padding_side
    samples = sample_policy(model, tokenizer, texts, SamplingConfig(
        max_new_tokens=trl_cfg.max_completion_length, temperature=trl_cfg.temperature,
        top_p=trl_cfg.top_p, seed=trl_cfg.seed))
    tokenizer.padding_side = padding_side
    return [text_length(s, unit) for group in samples for s in group]


def _load_reward_model(path: str, dtype: Any = None) -> tuple[Any, Any]:
    """The reward model (a full model or a LoRA adapter merged into its base) and its tokenizer,
    frozen, in `dtype` (None: its checkpoint's)."""
    from kindling.rl.reward_model import sequence_classifier
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = sequence_classifier(path, dtype)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [repr(exc)])[0]
        raise ModelLoadError(f"kindling.rm_model {path!r}: cannot load a reward model ({first}); "
                             "train one with `kindling train rm`") from exc
    model.eval()
    return model, tokenizer


def _check_judge(store: Store, kcfg: KindlingGRPO, task: Task) -> ResolvedJudge:
    """The judge reward's config with its principle version resolved (default: the task's
    starting detector set); the API key must be set (checked without building)."""
    from kindling.agents.judge.service import resolve_judge
    from kindling.agents.templates import PromptError
    from kindling.store.principle_io import PrincipleFormatError
    from kindling.store.principles import PrincipleNotFound

    assert kcfg.judge is not None
    try:
        judge = resolve_judge(store, kcfg.judge, task)
    except (PrincipleNotFound, PrincipleFormatError, PromptError) as exc:
        raise ConfigError(f"kindling.judge.principles: {exc}") from exc
    llm = kcfg.judge.llm
    try:  # budget.max_cost: every model priced, before the run exists
        check_budget(kcfg.judge.budget, *llm_models(llm))
    except UserError as exc:
        raise ConfigError(str(exc).replace("field budget.", "kindling.judge.budget.", 1)) from exc
    if llm.backend == "openai":
        require_api_key(llm.api_key_env, "kindling.judge.llm.api_key_env", ConfigError)
    return judge


def prepare_grpo(
    store: Store, kcfg: KindlingGRPO, trl_cfg: Any, model: Any = None, tokenizer: Any = None
) -> GRPOSetup:
    """Check and load prompts, policy, LoRA and reward ingredients; nothing is written on error.

    Raises:
        UserError: trl.use_vllm without vllm installed, empty prompts or reference data, a missing
            policy or reward model, a prompt over kindling.max_prompt_length, an unknown principle
            version, an unset API key, LoRA without peft.
    """
    check_vllm(trl_cfg)
    dataset = prompt_dataset(store, kcfg.dataset, kcfg.limit)
    peft_config = lora_config(kcfg.lora)
    model, tokenizer = chat_policy(kcfg.model, model, tokenizer, "the conversational prompts",
                                   weight_dtype(kcfg.lora, trl_cfg))
    frozen_reference_in_compute_dtype(trl_cfg)
    check_prompt_lengths(tokenizer, dataset, kcfg.max_prompt_length)
    task = resolve_task(kcfg.task)
    context = RewardContext(rm_batch_size=kcfg.rm_batch_size, length_tolerance=kcfg.length_tolerance,
                            language=task.language, length_unit=task.length_unit,
                            device=trl_cfg.device,  # the RM scores where the policy trains
                            reward_options=kcfg.reward_options,
                            max_completion_length=trl_cfg.max_completion_length)
    if "soft_overlong" in kcfg.rewards:  # its limit comes from trl: checked before the run
        soft_overlong_arguments(kcfg.reward_options, trl_cfg.max_completion_length)
    if "length_control" in kcfg.rewards:
        context.reference_lengths = (
            _policy_lengths(model, tokenizer, dataset, kcfg.length_reference_prompts, trl_cfg,
                            task.length_unit)
            if kcfg.length_reference == "policy"
            else _reference_lengths(store, kcfg.length_dataset or task.spec.exemplars,
                                    task.length_unit))
    if "rm" in kcfg.rewards:
        assert kcfg.rm_model is not None  # KindlingGRPO requires it
        context.rm_model, context.rm_tokenizer = _load_reward_model(kcfg.rm_model,
                                                                    compute_dtype(trl_cfg))
    judge = _check_judge(store, kcfg, task) if "judge" in kcfg.rewards else None
    weights = [float(w) for w in kcfg.rewards.values()]
    if trl_cfg.reward_weights is not None and list(trl_cfg.reward_weights) != weights:
        raise ConfigError("trl.reward_weights: give the weights in kindling.rewards (name: weight) "
                         "and leave trl.reward_weights unset")
    trl_cfg.reward_weights = weights
    return GRPOSetup(kcfg, trl_cfg, model, tokenizer, dataset, peft_config, context, judge, task)


def _close_judge(service: Any, trainer: Any) -> None:
    """Close the judge service on the loop it ran on: TRL's reward loop, or a fresh one if unused."""
    if service is None:
        return
    loop = getattr(trainer, "async_loop", None)
    if loop is not None and loop.is_running():
        asyncio.run_coroutine_threadsafe(service.aclose(), loop).result(timeout=CLOSE_TIMEOUT_S)
    else:
        asyncio.run(service.aclose())


def train_grpo(store: Store, setup: GRPOSetup, *, live: bool = True) -> int:
    """Train with TRL's GRPOTrainer; the run, its per-step metrics and checkpoints go to the store.

    Returns:
        The id of the `grpo` run (status finished, or failed with the error when training raised).
    """
    from trl import GRPOTrainer

    kcfg = setup.kcfg
    callback = start_run(store, "grpo", kcfg, setup.trl_cfg, live=live, callback=GRPOMetricsCallback)
    funcs: list[Any] = []
    trainer: Any = None
    try:
        if setup.judge is not None:
            from kindling.agents.judge.service import build_judge_service

            judge_cfg = setup.judge.cfg
            setup.context.judge = build_judge_service(store, setup.judge, callback.run_id)
            meter = check_budget(judge_cfg.budget, *llm_models(judge_cfg.llm))
            setup.context.judge.context.llm.meter = meter  # checked before each judge call
        funcs, weights = build_rewards(kcfg.rewards, setup.context)
        assert list(weights) == list(setup.trl_cfg.reward_weights)
        callback.static |= length_band_of(funcs)
        tapped = watch_rewards(kcfg, funcs, callback, setup.context.reference_lengths,
                               setup.context.language, setup.context.length_unit)
        counted = count_tokens(tapped, setup.trl_cfg.max_completion_length,
                               stop_token_ids(setup.model, setup.tokenizer))
        trainer = build_trainer(GRPOTrainer, model=setup.model, reward_funcs=counted,
                                args=setup.trl_cfg, train_dataset=setup.dataset,
                                processing_class=setup.tokenizer, peft_config=setup.peft_config,
                                callbacks=[callback])
        assert isinstance(callback, GRPOMetricsCallback)
        callback.sampler = CompletionSampler(callback.store, callback.run_id, kcfg.samples,
                                             kcfg.rewards)
        callback.sampler.log = completion_log(trainer)
        output = fit(trainer, live=live)
        judge, setup.context.judge = setup.context.judge, None
        _close_judge(judge, trainer)
    except BaseException as exc:
        try:
            _close_judge(setup.context.judge, trainer)
        finally:
            if isinstance(exc, BudgetSpent):  # training stops: no step is scored without the judge
                record_stopped(callback, str(exc))
            else:
                record_failure(callback, exc)
        raise
    reward_stats = {f"{name}_stats": dict(stats)
                    for name, func in zip(kcfg.rewards, funcs, strict=True)
                    if isinstance(stats := getattr(func, "stats", None), dict)}
    record_success(callback, output, str(setup.trl_cfg.output_dir),
                   reward_weights=dict(kcfg.rewards), **reward_stats)
    return callback.run_id

