"""The memory estimator's figure beside each measured peak (kindling.rl.memory_estimate).

For every phase or arm that records a peak (torch.cuda.max_memory_allocated, and _reserved beside
it), the same model config and training setup go through `estimate_memory`: full or LoRA, the dtype,
micro-batch × sequence length, gradient checkpointing, one process, no sharding, and a colocated
vLLM's share of the card as the estimator adds it (utilization × the card's memory). GRPO's other
models on the card are added beside the estimator's total, as whole copies in the training dtype:
the reference policy when beta > 0 and the policy is not LoRA, the reward model of an `rm` reward.

Relative error = (estimated - measured) / measured: positive means the estimate is above the peak.
Without a CUDA device nothing is measured and the entry says so; a number is never made up.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

NO_GPU = "no GPU: not measured"


def estimator_module() -> ModuleType:
    """kindling.rl.memory_estimate; where Kindling is not installed (the device machine runs the
    checkout with carried wheels, and `kindling.rl` exists only through the installed package's
    folder mapping) the file rl/memory_estimate.py itself, which needs nothing of Kindling."""
    try:
        from kindling.rl import memory_estimate

        return memory_estimate
    except ImportError:
        name = "kindling_memory_estimate"
        if name in sys.modules:
            return sys.modules[name]
        path = Path(__file__).resolve().parents[2] / "rl" / "memory_estimate.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module


_ME = estimator_module()
DTYPE_BYTES, GiB, TrainingSetup = _ME.DTYPE_BYTES, _ME.GiB, _ME.TrainingSetup
estimate_memory, model_shape = _ME.estimate_memory, _ME.model_shape


def card_bytes(device: str) -> int | None:
    """The memory of CUDA device 0 (properties only, nothing allocated); None off CUDA."""
    import torch

    if device != "cuda" or not torch.cuda.is_available():
        return None
    return int(torch.cuda.get_device_properties(0).total_memory)


def estimate(config: Any, setup: TrainingSetup, label: str, *, other_models: dict[str, int] | None = None,
             device_bytes: int | None = None, kind: str = "causal_lm",
             fp32_master: bool = False) -> dict[str, Any]:
    """The estimator's figure for one phase or arm, before anything is measured
    (`fp32_master`: the weights train in fp32 under 16-bit autocast, as Kindling's runs load a
    full fine-tune: rl/precision.py).

    Args:
        config: The model's transformers config.
        setup: How it trains (one process, no sharding here).
        label: What the report calls it ("sft full bf16").
        other_models: GRPO's other models on the card, bytes each (reference, reward model).
        device_bytes: The card's memory (needed only for a vLLM share).
        kind: "causal_lm", or "classifier" for a reward model (estimated with a one-output
            score head: no LM-head logits).

    Returns:
        label, setup, estimator_gib, breakdown_gib, other_models_gib, estimated_gib, notes; or,
        when it cannot be estimated, label, setup and `not_comparable` (why).
    """
    if kind == "classifier":
        setup = replace(setup, head="score")
    entry: dict[str, Any] = {"label": label, "setup": setup.describe(), "notes": []}
    if setup.vllm_gpu_memory_utilization and device_bytes is None:
        entry["not_comparable"] = "vLLM's share of the card needs the card's memory (no CUDA device)"
        return entry
    shape = model_shape(config)
    est = estimate_memory(shape, setup, device_bytes)
    others = other_models or {}
    total = est.total + sum(others.values())
    entry.update(estimator_gib=est.total / GiB,
                 breakdown_gib={k: v / GiB for k, v in est.breakdown().items()},
                 other_models_gib={k: v / GiB for k, v in others.items()}, estimated_gib=total / GiB)
    if not setup.lora_r and setup.dtype != "fp32" and not fp32_master:
        entry["notes"].append(f"weights loaded in {setup.dtype}: the trainer keeps no fp32 master copy and "
                              f"AdamW's moments in {setup.dtype} ({shape.params * 8 / GiB:.2f} GiB less than "
                              "the estimator's 12 bytes a parameter for them)")
    return entry


def compare(entry: dict[str, Any], measured: dict[str, Any], failed: bool = False) -> dict[str, Any]:
    """The entry with the measured peaks and the relative errors.

    Args:
        entry: From `estimate`.
        measured: The phase's or arm's result: peak_gib (max_memory_allocated) and
            peak_reserved_gib, None where nothing was measured (no CUDA device).
        failed: The phase or arm failed: its peak is shown, not compared.

    Returns:
        A new dict: the entry plus measured_gib, measured_reserved_gib, relative_error,
        relative_error_reserved and status ("compared", "no GPU: not measured", "not
        comparable: ...", "the run failed: ...").
    """
    out = {**entry, "measured_gib": measured.get("peak_gib"),
           "measured_reserved_gib": measured.get("peak_reserved_gib"),
           "relative_error": None, "relative_error_reserved": None}
    est = entry.get("estimated_gib")
    if out["measured_gib"] is None:
        out["status"] = NO_GPU if est is not None else f"{NO_GPU} (not comparable: {entry['not_comparable']})"
    elif "not_comparable" in entry:
        out["status"] = f"not comparable: {entry['not_comparable']}"
    elif failed:
        out["status"] = "the run failed: its peak is up to the failure, not compared"
    else:
        out["relative_error"] = (est - out["measured_gib"]) / out["measured_gib"]
        if out["measured_reserved_gib"]:
            out["relative_error_reserved"] = (est - out["measured_reserved_gib"]) / out["measured_reserved_gib"]
        out["status"] = "compared"
    return out


def dtype_of(bf16: bool, fp16: bool = False, weights: str = "float32") -> str:
    """The estimator's dtype: the trainer's mixed-precision flag, else the weights' dtype."""
    if bf16:
        return "bf16"
    if fp16:
        return "fp16"
    return {"bfloat16": "bf16", "float16": "fp16"}.get(weights, "fp32")


def grpo_others(shape_of: Any, setup: TrainingSetup, beta: float, reward_model: bool) -> dict[str, int]:
    """GRPO's other models on the card: the reference (beta > 0, not LoRA), the reward model."""
    params = model_shape(shape_of).params * DTYPE_BYTES[setup.dtype]
    out = {}
    if beta > 0 and not setup.lora_r:
        out["reference model"] = params
    if reward_model:
        out["reward model"] = params
    return out


def label_of(name: str, setup: TrainingSetup) -> str:
    """'sft full bf16, batch 16×512', 'rm_train LoRA r=16 bf16, batch 16×768, checkpointing'."""
    words = [f"{name} {f'LoRA r={setup.lora_r}' if setup.lora_r else 'full'} {setup.dtype}",
             f"batch {setup.micro_batch_size}×{setup.seq_len}"]
    if setup.gradient_checkpointing:
        words.append("checkpointing")
    if setup.vllm_gpu_memory_utilization:
        words.append(f"vLLM colocate {setup.vllm_gpu_memory_utilization:.0%}")
    return ", ".join(words)


def run_estimate(kind: str, name: str, kindling: dict[str, Any], trl: dict[str, Any], config: Any,
                 device_bytes: int | None) -> dict[str, Any]:
    """The estimate for a Kindling run from its loaded config (both parts as dicts).

    SFT and RM: micro-batch × max_length (an RM forwards chosen and rejected together: twice the
    batch). GRPO: per_device_train_batch_size completions × (kindling.max_prompt_length, 512 when
    unset, + max_completion_length), upper bounds; vLLM's share when use_vllm in colocate mode.
    """
    lora = kindling.get("lora") or None
    targets = (lora or {}).get("target_modules") or "all-linear"
    ckpt = bool(trl.get("activation_checkpointing") or trl.get("gradient_checkpointing"))
    batch = int(trl.get("per_device_train_batch_size") or 8)
    setup = TrainingSetup(dtype=dtype_of(bool(trl.get("bf16")), bool(trl.get("fp16"))),  # type: ignore[arg-type]
                          lora_r=lora["r"] if lora else None,
                          lora_target_modules=targets if isinstance(targets, str) else tuple(targets),
                          gradient_checkpointing=ckpt, micro_batch_size=batch * (2 if kind == "rm" else 1),
                          seq_len=int(trl.get("max_length") or 1024))
    others: dict[str, int] = {}
    if kind == "grpo":
        vllm = trl.get("use_vllm") and trl.get("vllm_mode") == "colocate"
        setup = replace(setup, seq_len=int(kindling.get("max_prompt_length") or 512)
                        + int(trl.get("max_completion_length") or 256),
                        vllm_gpu_memory_utilization=float(trl.get("vllm_gpu_memory_utilization") or 0) if vllm else 0.0)
        others = grpo_others(config, setup, float(trl.get("beta") or 0), "rm" in (kindling.get("rewards") or {}))
    entry = estimate(config, setup, label_of(name, setup), other_models=others, device_bytes=device_bytes,
                     kind="classifier" if kind == "rm" else "causal_lm", fp32_master=True)
    entry["notes"].append("sequence length: the config's cap (" + ("max_prompt_length, 512 unset, + "
                          "max_completion_length" if kind == "grpo" else "max_length") + "); shorter batches hold less")
    if kind == "grpo" and setup.vllm_gpu_memory_utilization and trl.get("vllm_enable_sleep_mode"):
        entry.setdefault("not_comparable", "vLLM's sleep mode allocates outside PyTorch's caching "
                                           "allocator, which the measured peak may not count")
    return entry


def train_phase_estimate(mode: Any, name: str, res: dict[str, Any], config: Any, prompt_tokens: int,
                         device_bytes: int | None) -> dict[str, Any]:
    """benchmarks/gpu_train.py's phase `name` estimated and compared with its measured peak.

    sft: sft_batch × sft_max_length (every row is truncated to exactly max_length); rm: the
    classifier, 2 × rm_batch × rm_max_length (chosen and rejected together; pairs are at most that
    long); GRPO phases: per_device_train_batch_size completions × (the longest chat-templated prompt
    + max_completion_length), from the GRPOConfig the phase recorded (else the settings it runs
    with), the reference model when beta > 0, vLLM's share for grpo_vllm.

    Args:
        mode: The run's `Mode`.
        name: The phase.
        res: The phase's result (peak_gib, peak_reserved_gib, settings, error).
        config: The model's transformers config.
        prompt_tokens: The longest prompt with the chat template, in tokens.
        device_bytes: The card's memory (None off CUDA).
    """
    base = TrainingSetup(dtype=dtype_of(mode.bf16, weights=mode.dtype))  # type: ignore[arg-type]
    kind, others = "causal_lm", {}
    if name == "sft":
        setup = replace(base, micro_batch_size=mode.sft_batch, seq_len=mode.sft_max_length)
    elif name == "rm":
        setup, kind = replace(base, micro_batch_size=2 * mode.rm_batch, seq_len=mode.rm_max_length), "classifier"
    else:
        s = res.get("settings") or grpo_settings(mode, name)
        vllm = s.get("vllm_gpu_memory_utilization") if s.get("use_vllm") else 0.0
        setup = replace(base, dtype=dtype_of(bool(s.get("bf16")) or mode.bf16, weights=mode.dtype),
                        gradient_checkpointing=bool(s.get("gradient_checkpointing")),
                        micro_batch_size=int(s["per_device_train_batch_size"]),
                        seq_len=prompt_tokens + int(s.get("max_completion_length") or mode.completion_tokens),
                        vllm_gpu_memory_utilization=float(vllm or 0.0))
        others = grpo_others(config, setup, float(s.get("beta") or 0.0), reward_model=False)
    entry = estimate(config, setup, label_of(name, setup), other_models=others, device_bytes=device_bytes,
                     kind=kind)
    if setup.vllm_gpu_memory_utilization and mode.grpo.vllm_enable_sleep_mode:
        entry.setdefault("not_comparable", "vLLM's sleep mode allocates outside PyTorch's caching "
                                           "allocator, which the measured peak may not count")
    if (res.get("start_gib") or 0.0) > 0.1:
        entry["notes"].append(f"{res['start_gib']:.2f} GiB was allocated already when the phase began "
                              "(in the measured peak, not in the estimate)")
    return compare(entry, res, failed="error" in res)


def grpo_settings(mode: Any, name: str) -> dict[str, Any]:
    """The GRPOConfig fields a GRPO phase runs with, for a phase that failed before recording them:
    Kindling's settings (grpo, grpo_gen128, grpo_vllm), or GRPOConfig's defaults (grpo_trl)."""
    if name == "grpo_trl":
        import dataclasses

        from trl import GRPOConfig

        defaults = {f.name: f.default for f in dataclasses.fields(GRPOConfig)}
        return {k: defaults.get(k) for k in ("per_device_train_batch_size", "gradient_checkpointing", "beta",
                                            "bf16")} | {"max_completion_length": mode.completion_tokens}
    g = mode.grpo
    return {"per_device_train_batch_size": g.per_device_train_batch_size, "bf16": mode.bf16,
            "gradient_checkpointing": g.gradient_checkpointing, "beta": g.beta,
            "max_completion_length": mode.completion_tokens, "use_vllm": name == "grpo_vllm",
            "vllm_gpu_memory_utilization": g.vllm_gpu_memory_utilization}
