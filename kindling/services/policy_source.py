"""Opens Path A's policy model (`curate.policy`): resolves `run:ID`, picks and loads the backend."""

from __future__ import annotations

from kindling.agents.curate.config import PolicyConfig
from kindling.agents.curate.policy_backends import (
    PolicyBackend,
    TransformersPolicy,
    VllmPolicy,
    vllm_usable,
)
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.reports import policy_output_dir


def policy_path(store: Store, cfg: PolicyConfig) -> str:
    """The folder or hub id the policy is loaded from (`run:ID` → that run's output folder).

    Raises:
        RunRefError: a `run:ID` that names no sft/grpo run with an output folder.
    """
    if not cfg.model.startswith("run:"):
        return cfg.model
    return policy_output_dir(store, cfg.model, "field policy.model:")


def open_policy(path: str, cfg: PolicyConfig) -> PolicyBackend:
    """The backend `cfg.backend` names (auto: vLLM where it is usable, else transformers).

    Raises:
        UserError: vllm asked for but not usable, or the model cannot be loaded.
    """
    backend = "vllm" if cfg.backend == "auto" and vllm_usable() else cfg.backend
    if backend == "vllm":
        if not vllm_usable():
            raise UserError("field policy.backend: vllm is not installed or no GPU is visible "
                            "(pip install vllm on a CUDA machine, or set backend: transformers)")
        return VllmPolicy(path, cfg)
    try:
        return _transformers_policy(path, cfg)
    except (ValueError, OSError, UserError) as exc:
        raise UserError(f"field policy.model: {exc}") from exc


def _transformers_policy(path: str, cfg: PolicyConfig) -> TransformersPolicy:
    import torch

    from kindling.rl.policy_loading import load_policy

    dtype = None if cfg.dtype == "auto" else getattr(torch, cfg.dtype)
    model, tokenizer = load_policy(path, dtype=dtype)
    if torch.cuda.is_available():
        model = model.to("cuda")
    return TransformersPolicy(model, tokenizer, cfg)
