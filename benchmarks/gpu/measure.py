"""Measuring: step stamps, token counts, summaries, GPU memory and freeing it between phases.

Step times are measured end to end (step end to step end, CUDA synchronized), the first warm-up
steps excluded. GRPO's completion tokens are counted from the completion ids TRL hands the reward;
SFT and RM count non-padding tokens in the collated batches. Peak memory is
torch.cuda.max_memory_allocated since the last reset.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from benchmarks.gpu.settings import GIB, Mode


def make_timer(mode: Mode) -> Any:
    """A TrainerCallback that stamps the start of training and the end of every optimizer step.

    Args:
        mode: On CUDA the stamps wait for the device (synchronize).

    Returns:
        The callback; `durations()` gives the step times, `step_tokens` GRPO's tokens per step.
    """
    import torch
    from transformers import TrainerCallback

    def sync() -> None:
        if mode.device == "cuda":
            torch.cuda.synchronize()

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.stamps: list[float] = []  # train begin, then each step end
            self.step_tokens: dict[int, int] = {}  # GRPO: step index (0-based) -> completion tokens generated
            self.step_completions: dict[int, int] = {}

        @property
        def steps_done(self) -> int:
            return max(len(self.stamps) - 1, 0)

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            sync()
            self.stamps = [time.perf_counter()]

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            sync()
            self.stamps.append(time.perf_counter())
            print(f"    step {self.steps_done}: {self.stamps[-1] - self.stamps[-2]:.3f} s", flush=True)

        def durations(self) -> list[float]:
            return [b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False)]

    return StepTimer()


class CountingCollator:
    """Wraps a data collator; counts batches and non-padding tokens."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.batches, self.tokens = inner, 0, 0

    def __call__(self, features: Any) -> Any:
        out = self.inner(features)
        mask = out.get("attention_mask") if hasattr(out, "get") else None
        self.tokens += int(mask.sum()) if mask is not None else int(out["input_ids"].numel())
        self.batches += 1
        return out


def length_reward(timer: Any) -> Any:
    """The reward: completion length in tokens (deterministic); records the tokens per step.

    Args:
        timer: The phase's `make_timer` callback, whose step count files the tokens.

    Returns:
        A TRL reward function.
    """

    def completion_length(completions: list[Any], completion_ids: list[list[int]], **kwargs: Any) -> list[float]:
        lengths = [len(ids) for ids in completion_ids]
        step = timer.steps_done
        timer.step_tokens[step] = timer.step_tokens.get(step, 0) + sum(lengths)
        timer.step_completions[step] = timer.step_completions.get(step, 0) + len(lengths)
        return [float(n) for n in lengths]

    return completion_length


def summarize(timer: Any, warmup: int, tokens_per_step: float | None = None) -> dict[str, Any]:
    """Step time and tokens/s over the steps after `warmup`.

    Args:
        timer: The phase's `make_timer` callback.
        warmup: Untimed first steps.
        tokens_per_step: SFT/RM training tokens per step; None for GRPO (completion tokens
            generated during the timed steps, from the reward's counts).

    Returns:
        step_s, step_s_each, warmup_step_s, timed_steps, tokens, tokens_per_s (and GRPO's
        completions, tokens_per_completion).

    Raises:
        RuntimeError: no step ran after the warm-up.
    """
    durations = timer.durations()
    timed = durations[warmup:]
    if not timed:
        raise RuntimeError(f"no timed steps: {len(durations)} steps ran, warmup {warmup}")
    total = sum(timed)
    if tokens_per_step is None:
        tokens = sum(v for k, v in timer.step_tokens.items() if k >= warmup)
        completions = sum(v for k, v in timer.step_completions.items() if k >= warmup)
    else:
        tokens, completions = tokens_per_step * len(timed), None
    out = {
        "warmup_step_s": [round(d, 4) for d in durations[:warmup]],
        "step_s_each": [round(d, 4) for d in timed],
        "step_s": total / len(timed),
        "timed_steps": len(timed),
        "tokens": tokens,
        "tokens_per_s": tokens / total,
    }
    if completions:
        out["completions"] = completions
        out["tokens_per_completion"] = tokens / completions
    return out


def release(trainer: Any) -> None:
    """Drop a trainer's model, optimizer and buffers so the next phase starts from empty memory."""
    try:
        trainer.accelerator.free_memory()
    except Exception:  # noqa: BLE001 - best effort
        pass
    for attr in ("model", "model_wrapped", "ref_model", "optimizer", "lr_scheduler", "_buffered_inputs"):
        if hasattr(trainer, attr):
            try:
                setattr(trainer, attr, None)
            except Exception:  # noqa: BLE001 - some are read-only properties
                pass


def clear_memory(device: str) -> None:
    """Collect garbage; on CUDA also empty the cache and reset the peak counters."""
    import torch

    gc.collect()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def memory(mode: Mode) -> dict[str, float | None]:
    """Peak allocated (the figure reported) and reserved GPU memory since the last reset, in GiB."""
    import torch

    if mode.device != "cuda":
        return {"peak_gib": None, "peak_reserved_gib": None}
    return {"peak_gib": torch.cuda.max_memory_allocated() / GIB,
            "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB}
