"""`kindling model init --tiny` on the imported paper data, then load, forward and generate."""

from __future__ import annotations

from pathlib import Path

import torch
from kindling.ingest.imports import import_paper_data
from kindling.rl.policy_loading import load_policy
from kindling.store.db import Store
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from kindling.cli import app


def test_init_tiny_model_from_the_store(
    sqlite_store: Store, sqlite_url: str, paper_data: Path, tmp_path: Path
) -> None:
    import_paper_data(sqlite_store, paper_data, code_version="test")
    out = tmp_path / "tiny"
    cli = CliRunner()
    result = cli.invoke(app, ["--db-url", sqlite_url, "model", "init", "--tiny", "--out", str(out),
                              "--vocab-size", "1000", "--hidden", "64", "--layers", "2",
                              "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "parameters" in result.output and str(out) in result.output.replace("\n", "")

    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert len(tokenizer) == 1000 == model.config.vocab_size
    assert model.config.hidden_size == 64 and model.config.num_hidden_layers == 2
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    text = "🎂 亲爱的妈妈，生日快乐！愿您身体健康、万事如意～"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text

    chat = [{"role": "user", "content": "给妈妈的生日祝福"}]
    inputs = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True)
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], 1000)
    generated = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] <= inputs["input_ids"].shape[1] + 4
    assert generated.shape[1] > inputs["input_ids"].shape[1]

    policy, policy_tokenizer = load_policy(out)
    assert policy_tokenizer.pad_token_id == model.config.pad_token_id
    assert torch.equal(policy.get_input_embeddings().weight, model.get_input_embeddings().weight)

    info = cli.invoke(app, ["model", "info", str(out)])
    assert info.exit_code == 0, info.output
    assert "vocab: 1000" in info.output and "hidden_size: 64" in info.output


def test_init_needs_a_corpus(sqlite_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--db-url", sqlite_url, "model", "init", "--tiny",
                                      "--out", str(tmp_path / "tiny")])
    assert result.exit_code == 2
    assert "kindling data import" in " ".join(result.output.split())
    assert not (tmp_path / "tiny").exists()


def test_init_needs_tiny(sqlite_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--db-url", sqlite_url, "model", "init",
                                      "--out", str(tmp_path / "tiny")])
    assert result.exit_code == 2 and "--tiny" in result.output


def test_info_of_a_missing_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["model", "info", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in " ".join(result.output.split())


def test_init_on_a_task_of_your_own(sqlite_url: str, tmp_path: Path) -> None:
    """A store holding only the English slogans task: the tokenizer trains on its SFT dataset."""
    sft = Path(__file__).resolve().parents[2] / "prompts/tasks/slogans-en/data/sft.jsonl"
    cli = CliRunner()
    imported = cli.invoke(app, ["--db-url", sqlite_url, "data", "import", "--file", str(sft),
                                "--as", "sft", "--dataset", "slogans-en-sft"])
    assert imported.exit_code == 0, imported.output
    missing = cli.invoke(app, ["--db-url", sqlite_url, "model", "init", "--tiny", "--out",
                               str(tmp_path / "none")])
    assert missing.exit_code == 2 and "--dataset" in " ".join(missing.output.split())
    out = tmp_path / "tiny"
    built = cli.invoke(app, ["--db-url", sqlite_url, "model", "init", "--tiny", "--out", str(out),
                             "--dataset", "slogans-en-sft", "--vocab-size", "400", "--hidden",
                             "32", "--layers", "1"])
    assert built.exit_code == 0, built.output
    tokenizer = AutoTokenizer.from_pretrained(out)
    text = "Light the way home. Every ride."
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
