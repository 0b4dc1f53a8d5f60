"""The dtype a policy or reward model is loaded in for training.

Mixed precision keeps fp32 master weights: with `trl.bf16` (or fp16) autocast computes in 16 bits
while AdamW updates fp32 weights and moments. transformers loads a checkpoint in its own dtype
(`dtype="auto"`), and a Qwen2.5 checkpoint is bf16: trained as loaded, the weights, gradients and
AdamW's moments would all be bf16, where an update at lr 1e-5 is mostly below bf16's resolution
(8 bits of mantissa) and is lost. So a full fine-tune loads in float32 (16 bytes a parameter with
AdamW, as `rl/memory_estimate.py` counts), and LoRA's frozen base loads in the compute dtype (bf16,
fp16, else float32; PEFT keeps the adapters in float32, and a reward model's trained score head is
kept in float32 here). Frozen models (GRPO's reference policy and reward model) load in the compute
dtype.
"""

from __future__ import annotations

from typing import Any

import torch


def weight_dtype(lora: Any | None, trl_cfg: Any) -> torch.dtype:
    """float32 for a full fine-tune; the compute dtype for a LoRA run's frozen base."""
    return torch.float32 if lora is None else compute_dtype(trl_cfg)


def compute_dtype(trl_cfg: Any) -> torch.dtype:
    """What autocast computes in: bf16, fp16, else float32; frozen models load in it."""
    if getattr(trl_cfg, "bf16", False):
        return torch.bfloat16
    if getattr(trl_cfg, "fp16", False):
        return torch.float16
    return torch.float32


def frozen_reference_in_compute_dtype(trl_cfg: Any) -> None:
    """GRPO's reference policy is frozen: TRL builds it in the policy's dtype (float32 for a full
    fine-tune) unless `trl.model_init_kwargs` says; it says the compute dtype here (a user's own
    `dtype` there is kept)."""
    dtype = compute_dtype(trl_cfg)
    if dtype is torch.float32:
        return
    kwargs = dict(getattr(trl_cfg, "model_init_kwargs", None) or {})
    kwargs.setdefault("dtype", str(dtype).removeprefix("torch."))
    trl_cfg.model_init_kwargs = kwargs


def trainable_head_in_fp32(model: Any) -> None:
    """A LoRA reward model trains its score head in full (PEFT's modules_to_save copies it as it
    is): keep that copy's master weights in float32 under 16-bit autocast."""
    score = getattr(model, "score", None)
    if score is not None:
        score.to(torch.float32)
