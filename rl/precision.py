"""The dtype a policy or reward model is loaded in for training.

Mixed precision keeps fp32 master weights: with `trl.bf16` (or fp16) autocast computes in 16 bits
while AdamW updates fp32 weights and moments. transformers loads a checkpoint in its own dtype
(`dtype="auto"`), and a Qwen2.5 checkpoint is bf16: trained as loaded, the weights, gradients and
AdamW's moments would all be bf16, where an update at lr 1e-5 is mostly below bf16's resolution
(8 bits of mantissa) and is lost. So a full fine-tune loads in float32 (16 bytes a parameter with
AdamW, as `rl/memory_estimate.py` counts), and LoRA's frozen base loads in the compute dtype (bf16,
fp16, else float32; PEFT keeps the adapters in float32).
"""

from __future__ import annotations

from typing import Any

import torch


def weight_dtype(lora: Any | None, trl_cfg: Any) -> torch.dtype:
    """float32 for a full fine-tune; the compute dtype for a LoRA run's frozen base."""
    if lora is None:
        return torch.float32
    if getattr(trl_cfg, "bf16", False):
        return torch.bfloat16
    if getattr(trl_cfg, "fp16", False):
        return torch.float16
    return torch.float32
