"""The policy a training run starts from: loaded with a hint for the user when it cannot be,
checked for a chat template, and the LoRA config it trains with (shared by `sft`, `rm` and `grpo`)."""

from __future__ import annotations

from typing import Any

from kindling.rl.policy_loading import load_policy
from kindling.rl.train_config import ConfigError, LoraSpec
from kindling.store.errors import UserError

MODEL_HINT = "build a tiny one with `kindling model init --tiny --out models/tiny`"


class ModelLoadError(UserError):
    """The model or its tokenizer cannot be loaded from the configured hub id or folder."""


def load_model_and_tokenizer(name: str, dtype: Any = None) -> tuple[Any, Any]:
    """A causal LM and its tokenizer from a hub id, a folder or a LoRA adapter folder (merged),
    in `dtype` (rl/precision.py; None: the checkpoint's own).

    Raises:
        ModelLoadError: the folder, model weights or tokenizer are missing, unreadable or mismatched.
    """
    try:
        return load_policy(name, dtype=dtype)
    except ValueError as exc:
        raise ModelLoadError(f"{exc} ({MODEL_HINT})") from exc


def lora_config(spec: LoraSpec | None, task_type: str = "CAUSAL_LM") -> Any | None:
    """PEFT's LoraConfig for a spec (None without one).

    Args:
        spec: `kindling.lora`, or None for full fine-tuning.
        task_type: PEFT's task: CAUSAL_LM for SFT and GRPO policies, SEQ_CLS for reward models,
            whose freshly initialised `score` head is then trained and saved in full beside the
            adapter (modules_to_save).

    Raises:
        ConfigError: LoRA is asked for but `peft` is not installed.
    """
    if spec is None:
        return None
    try:
        from peft import LoraConfig
    except ImportError as exc:
        raise ConfigError("kindling.lora is set but peft is not installed (pip install 'kindling[lora]'), "
                         "or remove kindling.lora for full fine-tuning") from exc
    return LoraConfig(r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                      target_modules=spec.target_modules, task_type=task_type,
                      modules_to_save=["score"] if task_type == "SEQ_CLS" else None)


def chat_policy(name: str, model: Any, tokenizer: Any, purpose: str,
                dtype: Any = None) -> tuple[Any, Any]:
    """The given model/tokenizer, or those loaded from `name` in `dtype`; the tokenizer needs a
    chat template.

    Raises:
        ModelLoadError: the model cannot be loaded, or its tokenizer has no chat_template.
    """
    if model is None or tokenizer is None:
        loaded_model, loaded_tokenizer = load_model_and_tokenizer(name, dtype)
        model, tokenizer = model or loaded_model, tokenizer or loaded_tokenizer
    if getattr(tokenizer, "chat_template", None) is None:
        raise ModelLoadError(f"the tokenizer of {name} has no chat_template "
                             f"(needed to format {purpose})")
    return model, tokenizer
