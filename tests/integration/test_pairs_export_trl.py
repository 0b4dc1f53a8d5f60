"""Path A verdicts → preference pairs → export → TRL's RewardTrainer loads the export as it is."""

from pathlib import Path

import torch
from datasets import load_from_disk
from kindling.agents.curate.config import CurateConfig
from kindling.store.db import Store
from transformers import Qwen2Config, Qwen2ForSequenceClassification
from trl import RewardConfig, RewardTrainer
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services.curate import CurateRunner
from tests.fakes import ScriptedChatModel, default_scripts, seed_tiny_data, tiny_tokenizer

LONG = "亲爱的朋友，生日快乐！愿你新的一岁眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉。"
ITEMS = [("生日祝福", "生日快乐", 0), ("生日祝福", LONG, 1), ("生日祝福", "祝你生日快乐呀", 0),
         ("新年祝福", "新年好", 0)]


async def test_export_trains_a_reward_model(sqlite_store: Store, sqlite_url: str, tmp_path: Path) -> None:
    seed_tiny_data(sqlite_store, ITEMS)
    model = ScriptedChatModel(scripts=default_scripts())
    outcome = await CurateRunner(sqlite_store, CurateConfig(), chat_models={"agents": model},
                                 show_progress=False).run()
    cli = CliRunner()
    one = cli.invoke(app, ["--db-url", sqlite_url, "pairs", "build", "--run", str(outcome.run_id)])
    assert one.exit_code == 0 and "1 pairs" in one.output  # the default: one per query
    built = cli.invoke(app, ["--db-url", sqlite_url, "pairs", "build", "--run", str(outcome.run_id),
                             "--per-query", "all"])
    assert built.exit_code == 0, built.output
    assert "2 pairs" in built.output  # one good × two bad for 生日祝福; 新年祝福 has no good one
    pairs_run = int(built.output.split("pairs run ")[1].split(":")[0])
    out = tmp_path / "export"
    exported = cli.invoke(app, ["--db-url", sqlite_url, "pairs", "export", "--run", str(pairs_run),
                                "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    rows = (out / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 and '"chosen": "亲爱的朋友' in rows[0]

    dataset = load_from_disk(str(out / "dataset"))
    assert dataset.column_names == ["prompt", "chosen", "rejected"]
    tokenizer = tiny_tokenizer([r for _q, r, _l in ITEMS] + ["生日祝福", "新年祝福"])
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         num_labels=1, pad_token_id=tokenizer.pad_token_id)
    rm = Qwen2ForSequenceClassification(config)
    before = [p.detach().clone() for p in rm.parameters()]
    args = RewardConfig(output_dir=str(tmp_path / "rm"), max_steps=2, per_device_train_batch_size=2,
                        learning_rate=1e-2, report_to=[], save_strategy="no", use_cpu=True,
                        logging_steps=1)
    RewardTrainer(model=rm, args=args, train_dataset=dataset, processing_class=tokenizer).train()
    assert any(not torch.equal(a, b) for a, b in zip(before, rm.parameters(), strict=True))


def test_export_of_unknown_run_fails(sqlite_url: str, tmp_path: Path) -> None:
    Store(sqlite_url).close()
    result = CliRunner().invoke(app, ["--db-url", sqlite_url, "pairs", "export", "--run", "99",
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no run with id 99" in result.output
    assert not (tmp_path / "x").exists()


def test_export_never_touches_files_it_did_not_write(sqlite_url: str, paper_data: Path,
                                                     tmp_path: Path) -> None:
    """`--out precious` once deleted precious/thesis.txt: now it is refused, and with --overwrite
    the export lands beside the user's files, replacing only what an earlier export wrote."""
    from kindling.ingest.imports import import_paper_data

    import_paper_data(Store(sqlite_url), paper_data, code_version="test")
    precious = tmp_path / "precious"
    (precious / "sub").mkdir(parents=True)
    (precious / "thesis.txt").write_text("years of work")
    (precious / "sub" / "notes.md").write_text("notes")
    cli = CliRunner()
    export = ["--db-url", sqlite_url, "pairs", "export", "--run", "1", "--out", str(precious)]
    refused = cli.invoke(app, export)
    assert refused.exit_code == 2 and "pass --overwrite" in refused.stderr
    assert sorted(p.name for p in precious.iterdir()) == ["sub", "thesis.txt"]
    for _ in range(2):  # the second run replaces the first run's own files
        done = cli.invoke(app, [*export, "--overwrite"])
        assert done.exit_code == 0, done.output
    assert (precious / "thesis.txt").read_text() == "years of work"
    assert (precious / "sub" / "notes.md").read_text() == "notes"
    assert len((precious / "pairs.jsonl").read_text(encoding="utf-8").splitlines()) == 7896
    assert load_from_disk(str(precious / "dataset")).num_rows == 7896
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
