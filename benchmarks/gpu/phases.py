"""The phases: TRL's SFT, RM and GRPO trainers with Kindling's settings, and GRPO with TRL's defaults.

    sft          SFTTrainer, Kindling's settings: bf16, batch 16, max_length 512, no gradient checkpointing
    rm           RewardTrainer on Qwen2ForSequenceClassification (same shape), batch 16, max_length 512
    grpo         GRPOTrainer, Kindling's GPU settings: 64 completions per step (16 prompts x 4), one
                 generation per step, no gradient checkpointing, KV cache, beta 0.001, dr_grpo
    grpo_trl     GRPOTrainer with GRPOConfig's defaults (8 completions per step, gradient checkpointing
                 on, beta 0) except output_dir, max_steps and max_completion_length
    grpo_gen128  as grpo (64 completions per optimizer step), but generating 128 completions at once
                 every 2 steps (generation_batch_size=128, steps_per_generation=2)
    grpo_vllm    as grpo, generating with vLLM colocated in this process (use_vllm=True,
                 vllm_mode="colocate"); skipped, with the reason, when vllm is not importable or
                 there is no CUDA device

Every GRPO phase has a deterministic reward (completion length in tokens) and generates exactly
max_completion_length tokens per completion (EOS suppressed until then: min_new_tokens, vLLM's
min_tokens), so tokens/s compare.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.gpu.build import Data, load_policy, load_reward_model
from benchmarks.gpu.measure import CountingCollator, length_reward, make_timer, release, summarize
from benchmarks.gpu.settings import Mode

GRPO_SETTINGS = (
    "per_device_train_batch_size", "num_generations", "generation_batch_size", "steps_per_generation",
    "gradient_accumulation_steps", "gradient_checkpointing", "max_completion_length", "beta", "loss_type",
    "learning_rate", "bf16", "num_iterations", "use_vllm", "vllm_mode", "vllm_gpu_memory_utilization",
    "vllm_enable_sleep_mode", "cache_implementation", "generation_kwargs")
"""GRPOConfig fields each GRPO phase reports (what it ran with)."""


class PhaseSkipped(Exception):
    """A phase that cannot run here; the message says why (recorded, not an error)."""


@dataclass
class Context:
    """What every phase gets: the mode, the tokenizer, the data, the saved model and a work folder."""

    mode: Mode
    tokenizer: Any
    data: Data
    model_dir: Path
    work: Path
    warmup: int
    steps: int
    seed: int

    def tmp(self, name: str) -> str:
        """A phase's output folder (nothing is saved there: save_strategy no)."""
        return str(self.work / name)


def common_args(mode: Mode, out_dir: str, max_steps: int) -> dict[str, Any]:
    """Trainer fields every phase sets: none changes the speed of a step."""
    args: dict[str, Any] = dict(output_dir=out_dir, max_steps=max_steps, report_to="none",
                                save_strategy="no", disable_tqdm=True)
    if mode.device == "cpu":
        args.update(use_cpu=True, bf16=False)
    return args


def phase_sft(ctx: Context) -> dict[str, Any]:
    """SFT steps with Kindling's settings; training tokens/s."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    mode = ctx.mode
    rows = [{"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": r}]}
            for p, r in zip(ctx.data.prompts, ctx.data.sft_responses, strict=True)]
    args = SFTConfig(**common_args(mode, ctx.tmp("sft"), ctx.warmup + ctx.steps),
                     **({"bf16": True} if mode.bf16 else {}),
                     per_device_train_batch_size=mode.sft_batch, gradient_accumulation_steps=1,
                     max_length=mode.sft_max_length, gradient_checkpointing=False, learning_rate=1e-4,
                     seed=ctx.seed)
    timer = make_timer(mode)
    trainer = SFTTrainer(model=load_policy(mode, ctx.model_dir), args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=ctx.tokenizer, callbacks=[timer])
    counter = CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    trainer.train()
    res = summarize(timer, ctx.warmup, tokens_per_step=counter.tokens / max(counter.batches, 1))
    res.update(kind="training tokens/s", batch=mode.sft_batch, max_length=mode.sft_max_length,
               gradient_checkpointing=False)
    release(trainer)
    return res


def phase_rm(ctx: Context) -> dict[str, Any]:
    """Reward-model steps with Kindling's settings; training tokens/s (chosen + rejected)."""
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    mode = ctx.mode
    rows = [{"prompt": [{"role": "user", "content": p}],
             "chosen": [{"role": "assistant", "content": c}],
             "rejected": [{"role": "assistant", "content": r}]}
            for p, c, r in zip(ctx.data.prompts, ctx.data.rm_chosen, ctx.data.rm_rejected, strict=True)]
    args = RewardConfig(**common_args(mode, ctx.tmp("rm"), ctx.warmup + ctx.steps),
                        **({"bf16": True} if mode.bf16 else {}),
                        per_device_train_batch_size=mode.rm_batch, gradient_accumulation_steps=1,
                        max_length=mode.rm_max_length, gradient_checkpointing=False, learning_rate=1e-4,
                        seed=ctx.seed)
    timer = make_timer(mode)
    trainer = RewardTrainer(model=load_reward_model(mode, ctx.model_dir), args=args,
                            train_dataset=Dataset.from_list(rows), processing_class=ctx.tokenizer,
                            callbacks=[timer])
    kept = len(trainer.train_dataset)
    if kept < mode.rm_batch:
        raise RuntimeError(f"RewardTrainer kept {kept} pairs (longer than max_length are dropped)")
    counter = CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    trainer.train()
    res = summarize(timer, ctx.warmup, tokens_per_step=counter.tokens / max(counter.batches, 1))
    res.update(kind="training tokens/s (chosen + rejected)", batch=mode.rm_batch, pairs_kept=kept,
               max_length=mode.rm_max_length, gradient_checkpointing=False)
    release(trainer)
    return res


def run_grpo(ctx: Context, name: str, config_kwargs: dict[str, Any], spg: int) -> dict[str, Any]:
    """One GRPO phase; warmup and timed steps are rounded up to whole generation cycles (spg steps)."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    mode = ctx.mode
    warmup = math.ceil(max(ctx.warmup, 1) / spg) * spg
    steps = math.ceil(ctx.steps / spg) * spg
    args = GRPOConfig(**common_args(mode, ctx.tmp(name), warmup + steps), **config_kwargs)
    timer = make_timer(mode)
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": p}]} for p in ctx.data.prompts])
    trainer = GRPOTrainer(model=load_policy(mode, ctx.model_dir), reward_funcs=length_reward(timer), args=args,
                          train_dataset=dataset, processing_class=ctx.tokenizer, callbacks=[timer])
    settings = {k: getattr(args, k) for k in GRPO_SETTINGS}
    print(f"    GRPOConfig: {settings}", flush=True)
    trainer.train()
    res = summarize(timer, warmup)
    res.update(kind="completion tokens/s", settings=settings, reference_model=trainer.ref_model is not None)
    release(trainer)
    return res


def kindling_grpo_kwargs(ctx: Context, generation_batch_size: int) -> dict[str, Any]:
    """GRPOConfig fields of Kindling's GPU settings (the generation batch given)."""
    mode, g = ctx.mode, ctx.mode.grpo
    return dict(
        **({"bf16": True} if mode.bf16 else {}),
        num_generations=g.num_generations, per_device_train_batch_size=g.per_device_train_batch_size,
        gradient_accumulation_steps=1, generation_batch_size=generation_batch_size,
        max_completion_length=mode.completion_tokens, gradient_checkpointing=g.gradient_checkpointing,
        beta=g.beta, loss_type=g.loss_type, learning_rate=g.learning_rate,
        generation_kwargs={"min_new_tokens": mode.completion_tokens, "use_cache": True},
        seed=ctx.seed,
    )


def phase_grpo(ctx: Context) -> dict[str, Any]:
    """Kindling's GRPO settings: one generation of 64 completions per optimizer step."""
    g = ctx.mode.grpo
    return run_grpo(ctx, "grpo", kindling_grpo_kwargs(ctx, g.generation_batch_size),
                    spg=g.generation_batch_size // g.per_device_train_batch_size)


def phase_grpo_gen128(ctx: Context) -> dict[str, Any]:
    """As `grpo`, generating 128 completions every 2 steps."""
    g = ctx.mode.grpo
    return run_grpo(ctx, "grpo_gen128", kindling_grpo_kwargs(ctx, ctx.mode.grpo_gen_big),
                    spg=ctx.mode.grpo_gen_big // g.per_device_train_batch_size)


def phase_grpo_trl(ctx: Context) -> dict[str, Any]:
    """GRPOConfig's defaults, except output_dir and max_steps (to run at all), max_completion_length
    (the comparison's length) and min_new_tokens (every completion that long, as in Kindling's phase).

    TRL's bf16 default is already True on a GPU. Defaults: 8 completions per step (one prompt x 8),
    gradient checkpointing on, beta 0 (no reference model), loss dapo, learning rate 1e-6.
    """
    kwargs = dict(max_completion_length=ctx.mode.completion_tokens,
                  generation_kwargs={"min_new_tokens": ctx.mode.completion_tokens})
    return run_grpo(ctx, "grpo_trl", kwargs, spg=1)


def vllm_skip_reason(mode: Mode) -> str | None:
    """Why grpo_vllm cannot run here (None: it can).

    vLLM's wheel is hundreds of MB, more than the device machine's working tree may carry, so it
    runs only where vllm is installed already.
    """
    if importlib.util.find_spec("vllm") is None:
        return ("vllm is not installed here (pip install vllm, a supported version for TRL: "
                "0.22-0.31; its wheel, hundreds of MB, cannot travel as a carried wheel)")
    if mode.device != "cuda":
        return "vLLM colocate needs a CUDA device"
    from trl.import_utils import is_vllm_available

    if not is_vllm_available():
        return "vllm is installed but TRL cannot use it (trl.import_utils.is_vllm_available is False)"
    return None


def phase_grpo_vllm(ctx: Context) -> dict[str, Any]:
    """As `grpo`, generating with vLLM colocated in this process.

    vLLM samples with min_tokens (its name for min_new_tokens) and without detokenizing (the model's
    vocabulary is larger than the tokenizer's; TRL decodes the completion ids itself). The peak
    memory includes the pool vLLM takes up front (vllm_gpu_memory_utilization of the GPU).

    Raises:
        PhaseSkipped: vllm is not importable, or there is no CUDA device.
    """
    reason = vllm_skip_reason(ctx.mode)
    if reason is not None:
        raise PhaseSkipped(reason)
    mode, g = ctx.mode, ctx.mode.grpo
    kwargs = kindling_grpo_kwargs(ctx, g.generation_batch_size)
    kwargs.update(
        use_vllm=True, vllm_mode="colocate", vllm_gpu_memory_utilization=g.vllm_gpu_memory_utilization,
        vllm_enable_sleep_mode=g.vllm_enable_sleep_mode,
        vllm_max_model_length=mode.prompt_tokens + mode.completion_tokens + 64,  # + the chat template
        generation_kwargs={"min_tokens": mode.completion_tokens, "detokenize": False},
    )
    return run_grpo(ctx, "grpo_vllm", kwargs, spg=g.generation_batch_size // g.per_device_train_batch_size)


PHASE_FUNCS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "sft": phase_sft, "rm": phase_rm, "grpo": phase_grpo, "grpo_trl": phase_grpo_trl,
    "grpo_gen128": phase_grpo_gen128, "grpo_vllm": phase_grpo_vllm,
}
