"""The corpus tokenizer, the tiny Qwen2 config and `load_policy`'s checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kindling.rl.policy_loading import count_parameters, describe_model, load_policy
from kindling.rl.tiny_model import tiny_qwen2_config
from kindling.rl.tokenizer import ENDOFTEXT, IM_END, IM_START, train_tokenizer
from tokenizers import Tokenizer
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    Qwen2ForCausalLM,
)


@pytest.fixture
def texts(paper_data: Path) -> list[str]:
    """Queries and responses of the paper's first 200 SFT records."""
    records = json.loads((paper_data / "sft" / "sft_data.json").read_text(encoding="utf-8"))[:200]
    return [r["instruction"] for r in records] + [r["output"] for r in records]


@pytest.fixture
def tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    return train_tokenizer(texts, vocab_size=800)


def _save_model(folder: Path, vocab_size: int) -> None:
    config = tiny_qwen2_config(vocab_size, hidden_size=16, layers=1, heads=2, kv_heads=1,
                               intermediate=32, max_position=64)
    Qwen2ForCausalLM(config).save_pretrained(folder)


def test_round_trip_on_paper_texts(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> None:
    sample = [*texts[::8][:50], "🎂✨ 生日快乐！", "龘靐齉爩 — “引号”…（括号）\n\t新年好~ 😀👍"]
    assert len(sample) == 52
    for text in sample:
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.unk_token_id not in ids
        assert tokenizer.decode(ids) == text
    assert len(tokenizer) <= 800
    # merges learned on the corpus: Chinese greetings need fewer tokens than UTF-8 bytes
    assert len(tokenizer("生日快乐")["input_ids"]) < len("生日快乐".encode())


def test_special_tokens(tokenizer: PreTrainedTokenizerFast) -> None:
    assert tokenizer.eos_token == IM_END and tokenizer.pad_token == ENDOFTEXT
    for token in (ENDOFTEXT, IM_START, IM_END):
        assert len(tokenizer(token)["input_ids"]) == 1
    assert tokenizer.pad_token_id != tokenizer.eos_token_id


def test_chat_template(tokenizer: PreTrainedTokenizerFast) -> None:
    chat = [{"role": "user", "content": "给妈妈的生日祝福"}, {"role": "assistant", "content": "妈妈生日快乐！"}]
    full = tokenizer.apply_chat_template(chat, tokenize=False)
    assert full == ("<|im_start|>user\n给妈妈的生日祝福<|im_end|>\n"
                    "<|im_start|>assistant\n妈妈生日快乐！<|im_end|>\n")
    prompt = tokenizer.apply_chat_template(chat[:1], tokenize=False, add_generation_prompt=True)
    assert isinstance(prompt, str)
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
    masked = tokenizer.apply_chat_template(chat, return_dict=True, return_assistant_tokens_mask=True)
    ids = [i for i, m in zip(masked["input_ids"], masked["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(ids) == "妈妈生日快乐！<|im_end|>"


def test_tokenizer_rejects_tiny_vocab(texts: list[str]) -> None:
    with pytest.raises(ValueError, match="byte alphabet"):
        train_tokenizer(texts, vocab_size=100)


def test_default_config_is_about_4m_parameters() -> None:
    config = tiny_qwen2_config(4000)
    assert config.tie_word_embeddings and config.model_type == "qwen2"
    count = count_parameters(Qwen2ForCausalLM(config))
    assert 3_500_000 <= count <= 4_500_000
    assert count == 3_928_320


def test_config_rejects_uneven_heads() -> None:
    with pytest.raises(ValueError, match="heads"):
        tiny_qwen2_config(1000, hidden_size=250, heads=4)
    with pytest.raises(ValueError, match="kv_heads"):
        tiny_qwen2_config(1000, heads=4, kv_heads=3)


def test_load_policy_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match=str(missing)):
        load_policy(missing)
    with pytest.raises(ValueError, match="does not exist"):
        load_policy(str(missing))


def test_load_policy_not_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no config.json"):
        load_policy(tmp_path)


def test_load_policy_missing_tokenizer(tmp_path: Path) -> None:
    _save_model(tmp_path, 800)
    with pytest.raises(ValueError, match=f"{tmp_path} has no tokenizer"):
        load_policy(tmp_path)


def test_load_policy_vocab_mismatch(tmp_path: Path, tokenizer: PreTrainedTokenizerFast) -> None:
    _save_model(tmp_path, len(tokenizer) - 10)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="mismatch"):
        load_policy(tmp_path)


def test_load_policy_sets_pad_token(tmp_path: Path, tokenizer: PreTrainedTokenizerFast) -> None:
    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    backend.no_padding()
    bare = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=IM_END)
    assert bare.pad_token is None
    # a gpt2 folder: AutoTokenizer would give a qwen2 one Qwen2Tokenizer's default pad token
    GPT2LMHeadModel(GPT2Config(vocab_size=len(bare), n_embd=16, n_layer=1, n_head=2,
                               n_positions=64)).save_pretrained(tmp_path)
    bare.save_pretrained(tmp_path)
    model, loaded = load_policy(tmp_path)
    assert loaded.pad_token == IM_END
    assert model.config.pad_token_id == loaded.pad_token_id
    info = describe_model(tmp_path)
    assert info["parameters"] == count_parameters(model) and info["vocab"] == len(bare)
