"""`kindling train rm`: TRL's RewardTrainer on the store's preference pairs, recorded like `sft`.

The model is any causal-LM folder or hub id loaded as `AutoModelForSequenceClassification` with one
label (a fresh scalar head on the LM's body), e.g. the tiny policy of `kindling model init --tiny`.
Pairs are given to TRL in conversational form (prompt as the user message, chosen/rejected as the
assistant's) when the tokenizer has a chat template, so training and `kindling eval rm` score the
same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.rl.data import preference_dataset
from kindling.rl.precision import trainable_head_in_fp32, weight_dtype
from kindling.rl.run_lifecycle import fit, record_failure, record_success, start_run
from kindling.rl.train_config import KindlingRM
from kindling.rl.training_model import MODEL_HINT, ModelLoadError, lora_config
from kindling.rl.trl_config import build_trainer
from kindling.store.db import Store
from kindling.store.errors import RunRefError
from kindling.store.refs import no_run_message
from kindling.store.reports import get_run


@dataclass
class RMSetup:
    """Everything checked and loaded before a reward-model run starts."""

    kcfg: KindlingRM
    trl_cfg: Any
    model: Any
    tokenizer: Any
    dataset: Any
    peft_config: Any | None


def sequence_classifier(source: str, dtype: Any = None) -> Any:
    """The one-output sequence classifier in `source`, a full model or a LoRA adapter folder.

    A folder with `adapter_config.json` (a `kindling.lora` run's output) is loaded onto the base
    model its config names (itself loaded this way, so adapters may stack: an RM adapter trained
    on an SFT adapter's output), and merged in, so callers always get a plain transformers model.
    A reward-model adapter (SEQ_CLS) brings its trained `score` head; a policy adapter (SFT, GRPO)
    only changes the body, and the head is freshly initialised as for any causal LM.

    Raises:
        ModelLoadError: an adapter folder without peft installed, or whose base model is unloadable.
        OSError, ValueError: a full model that transformers cannot load.
    """
    from transformers import AutoModelForSequenceClassification

    if not (Path(source) / "adapter_config.json").is_file():
        return AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=1, **({} if dtype is None else {"dtype": dtype}))
    try:
        from peft import PeftConfig, PeftModel
    except ImportError as exc:
        raise ModelLoadError(f"{source} holds a LoRA adapter; loading it needs peft "
                             "(pip install 'kindling[lora]')") from exc
    config = PeftConfig.from_pretrained(source)
    try:
        base = sequence_classifier(config.base_model_name_or_path, dtype)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [repr(exc)])[0]
        raise ModelLoadError(f"LoRA adapter {source}: its base model "
                             f"{config.base_model_name_or_path!r} (adapter_config.json "
                             f"base_model_name_or_path) cannot be loaded ({first})") from exc
    if config.task_type != "SEQ_CLS":
        config.task_type = None  # a causal-LM adapter on a classifier: PEFT's task-free wrapper
    model = PeftModel.from_pretrained(base, source, config=config).merge_and_unload()
    model.name_or_path = source  # so a LoRA trained on this model names this folder as its base
    return model


def load_reward_model(name: str, dtype: Any = None) -> tuple[Any, Any]:
    """A sequence classifier with one output (the reward) and its tokenizer, pad token set.

    Args:
        name: A hub id or a local folder; a causal-LM folder gets a freshly initialised score head,
            a LoRA adapter folder is merged into its base model (`sequence_classifier`).

    Raises:
        ModelLoadError: the folder, weights or tokenizer are missing or unreadable.
    """
    from transformers import AutoTokenizer

    local = Path(name).expanduser()
    path_like = name.startswith((".", "/", "~")) or name.count("/") > 1 or local.exists()
    if path_like and not local.is_dir():
        raise ModelLoadError(f"model folder {local} not found ({MODEL_HINT})")
    source = str(local) if path_like else name
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = sequence_classifier(source, dtype)
    except ModelLoadError:
        raise  # already names the adapter and its base model
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise ModelLoadError(f"model {name!r} not found or not loadable ({first}); "
                             f"{MODEL_HINT}") from exc
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelLoadError(f"tokenizer of {name!r} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def conversational(dataset: Any) -> Any:
    """Pairs as chat messages: prompt → user message, chosen/rejected → assistant message."""
    return dataset.map(lambda row: {
        "prompt": [{"role": "user", "content": row["prompt"]}],
        "chosen": [{"role": "assistant", "content": row["chosen"]}],
        "rejected": [{"role": "assistant", "content": row["rejected"]}],
    })


def prepare_rm(store: Store, kcfg: KindlingRM, trl_cfg: Any) -> RMSetup:
    """Check and load pairs, LoRA, model and tokenizer; nothing is written to the store.

    Raises:
        ValueError: no pairs (`EmptyDataError`), no such pairs run (`RunRefError`), missing model
            (`ModelLoadError`), LoRA without peft.
    """
    run = get_run(store, kcfg.pairs_run)
    if run is None:
        raise RunRefError(f"kindling.pairs_run: {no_run_message(store, kcfg.pairs_run)}")
    dataset = preference_dataset(store, kcfg.pairs_run, kcfg.pairs_dataset, kcfg.limit)
    peft_config = lora_config(kcfg.lora, task_type="SEQ_CLS")
    model, tokenizer = load_reward_model(kcfg.model, weight_dtype(kcfg.lora, trl_cfg))
    if kcfg.lora is not None:
        trainable_head_in_fp32(model)
    if getattr(tokenizer, "chat_template", None):
        dataset = conversational(dataset)
    return RMSetup(kcfg, trl_cfg, model, tokenizer, dataset, peft_config)


def train_rm(store: Store, setup: RMSetup, *, live: bool = True) -> int:
    """Train with TRL's RewardTrainer; the run, per-step metrics and checkpoints go to the store.

    Returns:
        The id of the `rm` run (finished, or failed with the error when training raised).
    """
    from trl import RewardTrainer

    callback = start_run(store, "rm", setup.kcfg, setup.trl_cfg, live=live)
    try:
        trainer = build_trainer(RewardTrainer, model=setup.model, args=setup.trl_cfg,
                                train_dataset=setup.dataset, processing_class=setup.tokenizer,
                                peft_config=setup.peft_config, callbacks=[callback])
        output = fit(trainer, live=live)
        if trainer.is_world_process_zero():
            setup.tokenizer.save_pretrained(setup.trl_cfg.output_dir)
    except BaseException as exc:
        record_failure(callback, exc)
        raise
    record_success(callback, output, str(setup.trl_cfg.output_dir), pairs=len(setup.dataset))
    return callback.run_id
