"""A tiny Qwen2-shaped policy for CPU: its config, and a fresh one built with its own tokenizer
(`kindling model init --tiny`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kindling.rl.policy_loading import ModelError
from kindling.rl.tokenizer import train_tokenizer
from transformers import Qwen2Config, Qwen2ForCausalLM, set_seed


def tiny_qwen2_config(
    vocab_size: int,
    hidden_size: int = 256,
    layers: int = 4,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: int = 688,
    max_position: int = 512,
) -> Qwen2Config:
    """A small Qwen2 config with tied embeddings (about 3.93M parameters at a 4000 vocab).

    Args:
        vocab_size: Embedding rows; the tokenizer's full length.
        hidden_size: Model width.
        layers: Decoder layers.
        heads: Attention heads (must divide `hidden_size`).
        kv_heads: Key/value heads for grouped-query attention (must divide `heads`).
        intermediate: MLP width.
        max_position: Longest sequence (RoPE positions).

    Returns:
        The config, without special-token ids (set by `init_tiny_model`).

    Raises:
        ValueError: If the head counts do not divide evenly.
    """
    if hidden_size % heads or heads % kv_heads:
        raise ModelError(f"heads ({heads}) must divide hidden_size ({hidden_size}) "
                         f"and kv_heads ({kv_heads}) must divide heads")
    return Qwen2Config(
        vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, intermediate_size=intermediate,
        max_position_embeddings=max_position, tie_word_embeddings=True, use_cache=True,
    )


def init_tiny_model(
    texts: Iterable[str], out_dir: Path, *, vocab_size: int = 4000, seed: int = 0, **shape: Any
) -> Path:
    """Train a tokenizer on `texts`, build a randomly initialised tiny Qwen2 and save both.

    Args:
        texts: Corpus texts for the tokenizer.
        out_dir: Folder to write (created); `from_pretrained` loads it.
        vocab_size: Tokenizer target vocabulary size.
        seed: Seed for the random initialisation.
        **shape: Keyword arguments of `tiny_qwen2_config` (hidden_size, layers, ...).

    Returns:
        `out_dir`.
    """
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    config = tiny_qwen2_config(len(tokenizer), **shape)
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.bos_token_id = None
    set_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
