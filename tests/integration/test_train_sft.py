"""`kindling train sft`: a real TRL SFT run on a tiny model built here, recorded in the store."""

from pathlib import Path

import pytest
import torch
from kindling.store.db import Store
from kindling.store.models import Run
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
ITEMS = [("生日祝福", "生日快乐", 0), ("新年祝福", "新年好", 0)]


def build_tiny_model(folder: Path, texts: list[str]) -> Qwen2ForCausalLM:
    """A 1-layer Qwen2 with a character-level tokenizer trained on `texts`, saved to `folder`."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    specials = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
    tok.train_from_iterator([*texts, "user assistant\n"],
                            trainers.BpeTrainer(vocab_size=300, special_tokens=specials))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                        pad_token="<pad>", unk_token="<unk>",
                                        additional_special_tokens=["<|im_start|>"],
                                        chat_template=CHATML)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    model = Qwen2ForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model


def write_config(tmp_path: Path, model_dir: Path, extra: str = "") -> Path:
    path = tmp_path / "sft.yaml"
    path.write_text(
        f"kindling:\n  model: {model_dir}\n{extra}"
        f"trl:\n  output_dir: {tmp_path / 'out'}\n  max_steps: 3\n  per_device_train_batch_size: 2\n"
        "  learning_rate: 1.0e-2\n  logging_steps: 1\n  save_strategy: 'no'\n  bf16: false\n"
        "  use_cpu: true\n  report_to: none\n  max_length: 64\n  dataloader_num_workers: 0\n",
        encoding="utf-8")
    return path


def flat(output: str) -> str:
    """CLI output with the console's line wrapping undone."""
    return " ".join(output.split())


@pytest.fixture
def tiny_model_dir(tmp_path: Path, sqlite_store: Store) -> Path:
    seed_tiny_data(sqlite_store, ITEMS)  # two SFT rows (+ evaluation items)
    texts = ["生日祝福", "新年祝福", "生日快乐！愿你被世界温柔以待，所有的美好都如期而至。",
             "新年快乐！愿你新的一年里平安喜乐，万事胜意。"]
    folder = tmp_path / "tiny"
    build_tiny_model(folder, texts)
    return folder


def test_train_sft_updates_weights_and_records_the_run(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, tiny_model_dir: Path
) -> None:
    before = Qwen2ForCausalLM.from_pretrained(tiny_model_dir).state_dict()
    cfg = write_config(tmp_path, tiny_model_dir)
    result = CliRunner().invoke(app, ["--db-url", sqlite_url, "train", "sft", "--config", str(cfg),
                                      "--seed", "5", "--learning-rate", "0.002",
                                      "--set", "trl.seed=1", "--no-progress"])
    assert result.exit_code == 0, result.output
    after = Qwen2ForCausalLM.from_pretrained(tmp_path / "out").state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)

    with sqlite_store.session() as s:
        run = s.query(Run).filter_by(kind="sft").one()
        assert run.status == "finished"
        assert run.config["trl"]["seed"] == 1  # --set wins over the --seed flag
        assert run.config["trl"]["learning_rate"] == 0.002 and \
            run.config["kindling"]["dataset"] == "sft"
        steps = [e for e in run.metrics["steps"] if "loss" in e]
        assert [e["step"] for e in steps] == [1, 2, 3]
        assert all(isinstance(e["loss"], float) and "learning_rate" in e for e in steps)
        assert run.metrics["final"]["train_runtime"] > 0
        assert run.metrics["checkpoints"] == [str(tmp_path / "out")]


def test_cli_errors_come_before_training(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, tiny_model_dir: Path
) -> None:
    cli = CliRunner()
    cfg = write_config(tmp_path, tiny_model_dir, extra="  modle: x\n")
    bad_key = cli.invoke(app, ["--db-url", sqlite_url, "train", "sft", "--config", str(cfg)])
    assert bad_key.exit_code == 2 and "kindling.modle" in flat(bad_key.output)

    cfg = write_config(tmp_path, tiny_model_dir)
    bad_trl = cli.invoke(app, ["--db-url", sqlite_url, "train", "sft", "--config", str(cfg),
                               "--set", "trl.max_stepz=3"])
    assert bad_trl.exit_code == 2 and "trl.max_stepz" in flat(bad_trl.output)

    missing = cli.invoke(app, ["--db-url", sqlite_url, "train", "sft", "--config", str(cfg),
                               "--set", f"kindling.model={tmp_path / 'nope'}"])
    assert missing.exit_code == 2 and "does not exist" in flat(missing.output)

    empty = cli.invoke(app, ["--db-url", sqlite_url, "train", "sft", "--config", str(cfg),
                             "--set", "kindling.dataset=grpo_train"])
    assert empty.exit_code == 2 and "import first" in flat(empty.output)

    with sqlite_store.session() as s:
        assert s.query(Run).filter_by(kind="sft").count() == 0
    assert not (tmp_path / "out").exists()
