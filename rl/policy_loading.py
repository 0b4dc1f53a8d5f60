"""Loading a policy (a causal LM and its tokenizer) from a hub id, a local folder or a LoRA
adapter folder, checked on the way; and describing one without loading its weights."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import torch
from kindling.store.errors import UserError
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)


class ModelError(UserError):
    """A model path, hub id, shape or tokenizer that cannot be used (the message names it)."""


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct parameters of a model (tied weights counted once)."""
    return sum(p.numel() for p in model.parameters())


def _is_path_like(name: str) -> bool:
    """True when `name` can only be a filesystem path, not a hub id (`org/name` or `name`)."""
    return (name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1
            or Path(name).expanduser().exists())


ADAPTER_CONFIG = "adapter_config.json"


def adapter_base(source: str | Path) -> str | None:
    """The base model a LoRA adapter folder names (None when `source` is not an adapter folder)."""
    path = Path(source).expanduser() / ADAPTER_CONFIG
    if not path.is_file():
        return None
    import json

    from kindling.store.bounded import MAX_STATE_BYTES, read_bounded

    try:
        data = json.loads(read_bounded(path, MAX_STATE_BYTES, "adapter config"))
    except ValueError as exc:  # past the bound, a device, not JSON
        raise ModelError(f"{path}: not a LoRA adapter config: {exc}") from exc
    base = data.get("base_model_name_or_path") if isinstance(data, dict) else None
    if not base:
        raise ModelError(f"{path} names no base_model_name_or_path")
    return str(base)


def causal_lm(source: str, **kwargs: Any) -> PreTrainedModel:
    """A causal LM from a hub id or folder; a LoRA adapter folder (a `kindling.lora` run's output)
    is merged into the base model it names (loaded the same way, so adapters may stack), so
    callers always get a plain transformers model.

    Raises:
        ValueError: an adapter folder without peft installed, or whose base cannot be loaded.
        OSError: transformers cannot load the model.
    """
    base = adapter_base(source)
    if base is None:
        return AutoModelForCausalLM.from_pretrained(source, **kwargs)
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ModelError(f"{source} holds a LoRA adapter; loading it needs peft "
                         "(pip install 'kindling[lora]')") from exc
    try:
        base_model = causal_lm(base, **{k: v for k, v in kwargs.items() if k != "config"})
    except OSError as exc:
        raise ModelError(f"LoRA adapter {source}: its base model {base!r} ({ADAPTER_CONFIG}) "
                         f"cannot be loaded ({exc})") from exc
    model = PeftModel.from_pretrained(base_model, source).merge_and_unload()
    model.name_or_path = source  # a LoRA trained on this model names this folder as its base
    return typing.cast(PreTrainedModel, model)


def _check_local(folder: Path) -> None:
    """Raise ValueError unless `folder` holds a model config (or a LoRA adapter) and a tokenizer."""
    if not folder.exists():
        raise ModelError(f"model path {folder} does not exist")
    if not folder.is_dir():
        raise ModelError(f"model path {folder} is not a folder")
    if not (folder / "config.json").is_file() and not (folder / ADAPTER_CONFIG).is_file():
        raise ModelError(f"model path {folder} has no config.json (not a model folder)")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(f"model path {folder} has no tokenizer (expected one of "
                         f"{', '.join(TOKENIZER_FILES)})")


def _config_and_tokenizer(name_or_path: str | Path) -> tuple[str, Any, PreTrainedTokenizerBase]:
    """Resolve a hub id or folder, load its config and tokenizer and check that they agree."""
    name = str(name_or_path)
    if isinstance(name_or_path, Path) or _is_path_like(name):
        folder = Path(name).expanduser()
        _check_local(folder)
        source = str(folder)
    else:
        source = name
    try:
        config = AutoConfig.from_pretrained(adapter_base(source) or source)
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load model {name!r} (hub id or local folder): {exc}") from exc
    config_vocab = getattr(config, "vocab_size", None)
    if config_vocab is not None and len(tokenizer) > config_vocab:
        raise ModelError(f"tokenizer of {name!r} has {len(tokenizer)} tokens but the model's "
                         f"embedding has {config_vocab} rows (tokenizer/model mismatch)")
    return source, config, tokenizer


def describe_model(name_or_path: str | Path) -> dict[str, Any]:
    """Parameter count, vocabulary and shape of a model, without loading its weights.

    Args:
        name_or_path: A hub id or a local model folder.

    Returns:
        A dict: model_type, parameters, vocab (tokenizer length), embedding_rows, hidden_size,
        layers, heads, kv_heads, intermediate, max_position, tied.

    Raises:
        ValueError: As `load_policy`.
    """
    _source, config, tokenizer = _config_and_tokenizer(name_or_path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return {
        "model_type": config.model_type,
        "parameters": count_parameters(model),
        "vocab": len(tokenizer),
        "embedding_rows": getattr(config, "vocab_size", None),
        "hidden_size": getattr(config, "hidden_size", None),
        "layers": getattr(config, "num_hidden_layers", None),
        "heads": getattr(config, "num_attention_heads", None),
        "kv_heads": getattr(config, "num_key_value_heads", None),
        "intermediate": getattr(config, "intermediate_size", None),
        "max_position": getattr(config, "max_position_embeddings", None),
        "tied": bool(getattr(config, "tie_word_embeddings", False)),
    }


def load_policy(
    name_or_path: str | Path, *, dtype: torch.dtype | str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer from a hub id or a local folder.

    Args:
        name_or_path: A hub id (`Qwen/Qwen2.5-0.5B-Instruct`) or a folder written by
            `save_pretrained` (e.g. by `init_tiny_model`).
        dtype: Weight dtype (`torch.bfloat16`, "auto", ...); None keeps the library default.

    Returns:
        (model, tokenizer); the tokenizer has a pad token (its eos if it had none).

    Raises:
        ValueError: If the path is missing or lacks a config or tokenizer, if the hub id cannot be
            loaded, or if the tokenizer's vocabulary is larger than the model's embedding.
    """
    name = str(name_or_path)
    source, config, tokenizer = _config_and_tokenizer(name_or_path)
    kwargs: dict[str, Any] = {"config": config} if dtype is None else {"config": config, "dtype": dtype}
    try:
        model = causal_lm(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load model weights of {name!r}: {exc}") from exc
    weight = model.get_input_embeddings().weight
    embedding_rows = int(weight.shape[0]) if isinstance(weight, torch.Tensor) else len(tokenizer)
    if len(tokenizer) > embedding_rows:
        raise ModelError(f"tokenizer of {name!r} has {len(tokenizer)} tokens but the model's "
                         f"embedding has {embedding_rows} rows (tokenizer/model mismatch)")
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelError(f"tokenizer of {name!r} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
