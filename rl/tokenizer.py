"""A small byte-level BPE tokenizer trained on the corpus, with Qwen's ChatML special tokens.

Byte-level BPE encodes any text (every Chinese character, emoji and punctuation mark falls back to
its UTF-8 bytes), so `decode(encode(x)) == x` for NFC text; merges learned on the greetings make
common characters and words single tokens. Normalizer, pre-tokenizer and decoder are exactly
Qwen2's, because `AutoTokenizer` loads a folder whose config says `qwen2` as a `Qwen2Tokenizer`,
which rebuilds that pipeline around the saved vocabulary and merges: training with the same one keeps
the tokenization identical however the folder is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from kindling.store.errors import UserError
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]
# transformers.models.qwen2.tokenization_qwen2.PRETOKENIZE_REGEX
QWEN2_PRETOKENIZE_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
                           r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

# Qwen-style ChatML. Assistant turns are wrapped in {% generation %} so TRL's
# `assistant_only_loss` can mask everything else.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4000) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on `texts`.

    Args:
        texts: Training texts (queries and responses).
        vocab_size: Target vocabulary size, special tokens included; a small corpus may yield fewer.

    Returns:
        A fast tokenizer with `<|endoftext|>` (pad), `<|im_start|>`, `<|im_end|>` (eos) and a
        ChatML `chat_template`.

    Raises:
        ValueError: If `vocab_size` is too small to hold the byte alphabet and special tokens.
    """
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(alphabet) + len(SPECIAL_TOKENS):
        raise UserError(f"vocab_size {vocab_size} is below the byte alphabet plus special tokens "
                         f"({len(alphabet) + len(SPECIAL_TOKENS)})")
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=alphabet, min_frequency=2, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=IM_END, pad_token=ENDOFTEXT,
        additional_special_tokens=[IM_START], chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False, model_max_length=32768,
    )
