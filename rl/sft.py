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
from kindling.rl.train_config import KindlingSFT
from kindling.rl.training_model import chat_policy, lora_config
from kindling.rl.trl_config import build_trainer
from kindling.store.db import Store


@dataclass
class SFTSetup:
    """Everything checked and loaded before a run starts (so errors come before any training)."""

    kcfg: KindlingSFT
    trl_cfg: Any
    model: Any
    tokenizer: Any
    dataset: Any
    peft_config: Any | None


def prepare_sft(
    store: Store, kcfg: KindlingSFT, trl_cfg: Any, model: Any = None, tokenizer: Any = None
) -> SFTSetup:
    """Check and load data, LoRA, model and tokenizer; nothing is written to the store.

    Raises:
        UserError: empty data (`EmptyDataError`), missing model (`ModelLoadError`), LoRA without
            peft (`ConfigError`).
    """
    dataset = sft_dataset(store, kcfg.dataset, kcfg.limit)
    peft_config = lora_config(kcfg.lora)
    model, tokenizer = chat_policy(kcfg.model, model, tokenizer, "the SFT messages",
                                   weight_dtype(kcfg.lora, trl_cfg))
    return SFTSetup(kcfg, trl_cfg, model, tokenizer, dataset, peft_config)


def train_sft(store: Store, setup: SFTSetup, *, live: bool = True) -> int:
    """Train with TRL's SFTTrainer; the run, its per-step metrics and checkpoints go to the store.

    Returns:
        The id of the `sft` run (status finished, or failed with the error when training raised).
    """
    from trl import SFTTrainer

    callback = start_run(store, "sft", setup.kcfg, setup.trl_cfg, live=live)
    try:
        trainer = build_trainer(SFTTrainer, model=setup.model, args=setup.trl_cfg,
                                train_dataset=setup.dataset, processing_class=setup.tokenizer,
                                peft_config=setup.peft_config, callbacks=[callback])
        output = fit(trainer, live=live)
    except BaseException as exc:
        record_failure(callback, exc)
        raise
    record_success(callback, output, str(setup.trl_cfg.output_dir))
    return callback.run_id

