"""`kindling train sft`: TRL's SFTTrainer on store data, with metrics and checkpoints in the store.

The run's life in the store (callback, start, finish) is rl/run_lifecycle.py, shared with `rm`
and `grpo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kindling.rl.data import sft_dataset
from kindling.rl.precision import weight_dtype
from kindling.rl.run_lifecycle import fit, record_failure, record_success, start_run
from kindling.rl.train_config import KindlingSFT, LoraSpec
from kindling.store.db import Store
from kindling.store.errors import UserError

MODEL_HINT = "build a tiny one with `kindling model init --tiny --out models/tiny`"


class ModelLoadError(UserError):
    """The model or its tokenizer cannot be loaded from the configured hub id or folder."""


@dataclass
class SFTSetup:
    """Everything checked and loaded before a run starts (so errors come before any training)."""

    kcfg: KindlingSFT
    trl_cfg: Any
    model: Any
    tokenizer: Any
    dataset: Any
    peft_config: Any | None


def load_model_and_tokenizer(name: str, dtype: Any = None) -> tuple[Any, Any]:
    """A causal LM and its tokenizer from a hub id, a folder or a LoRA adapter folder (merged),
    in `dtype` (rl/precision.py; None: the checkpoint's own).

    Raises:
        ModelLoadError: the folder, model weights or tokenizer are missing, unreadable or mismatched.
    """
    from kindling.rl.models import load_policy

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
        ValueError: LoRA is asked for but `peft` is not installed.
    """
    if spec is None:
        return None
    try:
        from peft import LoraConfig
    except ImportError as exc:
        raise ValueError("kindling.lora is set but peft is not installed (pip install 'kindling[lora]'), "
                         "or remove kindling.lora for full fine-tuning") from exc
    return LoraConfig(r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                      target_modules=spec.target_modules, task_type=task_type,
                      modules_to_save=["score"] if task_type == "SEQ_CLS" else None)


def prepare_sft(
    store: Store, kcfg: KindlingSFT, trl_cfg: Any, model: Any = None, tokenizer: Any = None
) -> SFTSetup:
    """Check and load data, LoRA, model and tokenizer; nothing is written to the store.

    Raises:
        ValueError: empty data (`EmptyDataError`), missing model (`ModelLoadError`), LoRA without peft.
    """
    dataset = sft_dataset(store, kcfg.dataset, kcfg.limit)
    peft_config = lora_config(kcfg.lora)
    model, tokenizer = chat_policy(kcfg.model, model, tokenizer, "the SFT messages",
                                   weight_dtype(kcfg.lora, trl_cfg))
    return SFTSetup(kcfg, trl_cfg, model, tokenizer, dataset, peft_config)


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


def train_sft(store: Store, setup: SFTSetup, *, live: bool = True) -> int:
    """Train with TRL's SFTTrainer; the run, its per-step metrics and checkpoints go to the store.

    Returns:
        The id of the `sft` run (status finished, or failed with the error when training raised).
    """
    from trl import SFTTrainer

    callback = start_run(store, "sft", setup.kcfg, setup.trl_cfg, live=live)
    try:
        trainer = SFTTrainer(model=setup.model, args=setup.trl_cfg, train_dataset=setup.dataset,
                             processing_class=setup.tokenizer, peft_config=setup.peft_config,
                             callbacks=[callback])
        output = fit(trainer, live=live)
    except BaseException as exc:
        record_failure(callback, exc)
        raise
    record_success(callback, output, str(setup.trl_cfg.output_dir))
    return callback.run_id

