"""The synthetic tokenizer, model and data, all built in-process (no hub).

The model is a Qwen2 causal LM of the mode's shape with random weights, saved once to a folder so
every phase starts from the same weights. The tokenizer is a small byte-level BPE trained here in
about a second, with a ChatML template; the model keeps its full vocabulary for shape fidelity
(sampled ids above the tokenizer's size decode to nothing, which costs nothing).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.rl.tokenizer import CHAT_TEMPLATE

from benchmarks.gpu.settings import Mode

ASCII_WORDS = ("the", "model", "reward", "policy", "token", "step", "batch", "greeting", "hello", "world",
               "kind", "warm", "answer", "question", "please", "thank", "you", "today", "good", "morning")


def random_text(rng: random.Random, words: int) -> str:
    """Chinese-ish and ASCII words: common CJK characters in runs of 1-3, English words, punctuation.

    Args:
        rng: The random source.
        words: How many words.

    Returns:
        The words joined by spaces.
    """
    out = []
    for _ in range(words):
        if rng.random() < 0.5:
            out.append("".join(chr(0x4E00 + rng.randrange(300)) for _ in range(rng.randint(1, 3))))
        else:
            out.append(rng.choice(ASCII_WORDS))
        if rng.random() < 0.1:
            out.append(rng.choice("，。！？,.!?"))
    return " ".join(out)


def build_tokenizer(mode: Mode, rng: random.Random) -> Any:
    """A byte-level BPE tokenizer with ChatML special tokens, trained on generated text.

    Args:
        mode: Gives the target vocabulary and the model's (which must be larger).
        rng: The random source of the training text.

    Returns:
        A `PreTrainedTokenizerFast` with a ChatML chat template.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=mode.tokenizer_vocab, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator((random_text(rng, 40) for _ in range(2000)), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"], chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False, model_max_length=mode.shape.max_position)
    assert len(tokenizer) <= mode.shape.vocab_size, (len(tokenizer), mode.shape.vocab_size)
    return tokenizer


def text_of_tokens(tokenizer: Any, rng: random.Random, n: int) -> str:
    """Random text of about `n` tokens (never more).

    Args:
        tokenizer: The tokenizer that counts.
        rng: The random source.
        n: The most tokens.

    Returns:
        The text.
    """
    text = random_text(rng, n)
    while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < n:
        text += " " + random_text(rng, n)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:n]
    text = tokenizer.decode(ids)
    while len(tokenizer(text, add_special_tokens=False)["input_ids"]) > n:  # a re-encoding may grow
        text = text[:-1]
    return text


def torch_dtype(mode: Mode) -> Any:
    """The torch dtype the mode names (bfloat16, float32)."""
    import torch

    return getattr(torch, mode.dtype)


def build_model_folder(mode: Mode, tokenizer: Any, folder: Path, seed: int) -> int:
    """Random-init the Qwen2 causal LM on the device and save it with the tokenizer.

    Args:
        mode: Shape, device and dtype.
        tokenizer: Saved beside the model; gives the pad and EOS ids.
        folder: Where to save.
        seed: Seed of the initialisation.

    Returns:
        The number of parameters.
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    s = mode.shape
    config = Qwen2Config(
        vocab_size=s.vocab_size, hidden_size=s.hidden_size, num_hidden_layers=s.layers,
        num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, intermediate_size=s.intermediate,
        max_position_embeddings=s.max_position, tie_word_embeddings=True, use_cache=True,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    with torch.device(mode.device):
        model = Qwen2ForCausalLM(config)
    model = model.to(torch_dtype(mode))
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    return params


def load_policy(mode: Mode, folder: Path) -> Any:
    """The saved causal LM, on the mode's device and dtype."""
    from transformers import Qwen2ForCausalLM

    model = Qwen2ForCausalLM.from_pretrained(folder, dtype=torch_dtype(mode))
    return model.to(mode.device)


def load_reward_model(mode: Mode, folder: Path) -> Any:
    """The saved weights as a one-output sequence classifier (a fresh score head)."""
    from transformers import Qwen2ForSequenceClassification

    model = Qwen2ForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch_dtype(mode))
    return model.to(mode.device)


@dataclass
class Data:
    """Every phase's texts."""

    prompts: list[str]  # user messages, ~prompt_tokens each
    sft_responses: list[str]  # long: SFT rows are truncated to max_length
    rm_chosen: list[str]  # fit rm_max_length with the prompt (RewardTrainer drops longer pairs)
    rm_rejected: list[str]


def build_data(mode: Mode, tokenizer: Any, rng: random.Random) -> Data:
    """Prompts, SFT responses and RM pairs of the mode's sizes.

    Args:
        mode: Prompt count and lengths.
        tokenizer: Counts tokens.
        rng: The random source.

    Returns:
        The texts.
    """
    n = mode.n_prompts
    prompts = [text_of_tokens(tokenizer, rng, mode.prompt_tokens) for _ in range(n)]
    # SFT responses are longer than max_length: every row is truncated to exactly max_length tokens.
    long_text = [text_of_tokens(tokenizer, rng, mode.sft_max_length) for _ in range(8)]
    sft = [long_text[i % 8] for i in range(n)]
    rm_len = mode.rm_max_length - mode.prompt_tokens - 24  # room for the chat template's tokens
    pool = [text_of_tokens(tokenizer, rng, rm_len - rng.randrange(8)) for _ in range(16)]
    chosen = [pool[i % 16] for i in range(n)]
    rejected = [pool[(i + 5) % 16] for i in range(n)]
    return Data(prompts, sft, chosen, rejected)
