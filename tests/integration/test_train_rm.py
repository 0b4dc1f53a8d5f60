"""`kindling train rm` and `kindling eval rm`: a real TRL reward-model run on a tiny model, on the
paper data imported into SQLite, then evaluated against pairs and labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from kindling.rl.data import preference_dataset
from kindling.store.db import Store
from kindling.store.models import Run
from transformers import AutoModelForSequenceClassification
from typer.testing import CliRunner

from kindling.cli import app
from tests.integration.helpers import imported_store
from tests.integration.test_train_sft import build_tiny_model


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store, Path]]:
    """The paper data imported once, and a tiny model whose tokenizer knows its characters."""
    folder = tmp_path_factory.mktemp("rm")
    url, store, import_run = imported_store(folder)
    rows = preference_dataset(store, import_run, "rm_train", 200).to_list()
    build_tiny_model(folder / "tiny", [t for r in rows for t in r.values()])
    yield url, store, folder
    store.close()


def cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", url, *args])
    return result.exit_code, " ".join(result.output.split())


def write_config(folder: Path, extra: str = "") -> Path:
    path = folder / "rm.yaml"
    path.write_text(
        f"kindling:\n  model: {folder / 'tiny'}\n  pairs_dataset: rm_train\n{extra}"
        f"trl:\n  output_dir: {folder / 'out'}\n  max_steps: 3\n  per_device_train_batch_size: 4\n"
        "  learning_rate: 1.0e-2\n  logging_steps: 1\n  save_strategy: 'no'\n  bf16: false\n"
        "  use_cpu: true\n  report_to: none\n  max_length: 64\n  dataloader_num_workers: 0\n",
        encoding="utf-8")
    return path


def test_train_rm_then_eval_rm(db: tuple[str, Store, Path]) -> None:
    url, store, folder = db
    before = AutoModelForSequenceClassification.from_pretrained(folder / "tiny", num_labels=1)
    code, out = cli(url, "train", "rm", "--config", str(write_config(folder)),
                    "--set", "kindling.limit=64", "--no-progress")
    assert code == 0, out
    assert "pairs from the latest import run" in out
    after = AutoModelForSequenceClassification.from_pretrained(folder / "out", num_labels=1)
    body_before, body_after = before.model.state_dict(), after.model.state_dict()
    assert any(not torch.equal(body_before[k], body_after[k]) for k in body_before)

    with store.session() as s:
        run = s.query(Run).filter_by(kind="rm").one()
        assert run.status == "finished"
        assert run.config["kindling"]["limit"] == 64 and run.config["kindling"]["pairs_run"] >= 1
        steps = [e for e in run.metrics["steps"] if "loss" in e]
        assert [e["step"] for e in steps] == [1, 2, 3]
        assert all(isinstance(e["loss"], float) for e in steps)
        assert run.metrics["pairs"] == 64 and run.metrics["checkpoints"] == [str(folder / "out")]

    code, out = cli(url, "eval", "rm", "--model", str(folder / "out"), "--limit", "40")
    assert code == 0, out
    assert "pairwise accuracy" in out and "len>39" in out and "longer" in out
    run_id = int(out.split("eval run ")[1].split()[0])
    with store.session() as s:
        ev = s.get(Run, run_id)
        assert ev is not None and (ev.kind, ev.status) == ("eval", "finished")
        assert ev.config["source"] == "rm" and ev.config["model"] == str(folder / "out")
        pw, agree = ev.metrics["pairwise"], ev.metrics["agreement"]
    assert pw["overall"]["n"] == 40 and 0.0 <= pw["overall"]["rm"] <= 1.0
    assert 0.0 <= pw["overall"]["length"] <= 1.0 and "unseen" in pw and len(pw["bands"]) == 4
    st = agree["score_threshold"]
    assert st["fit_items"] + st["evaluated_items"] == 40 and st["fit_items"] > 0
    assert agree["overall"]["n"] == agree["baseline"]["n"] == st["evaluated_items"]
    assert set(agree["unseen"]) == {"judge", "baseline"}
    print(f"pairwise rm {pw['overall']['rm']:.3f} vs longer {pw['overall']['length']:.3f}; "
          f"agreement rm {agree['overall']['accuracy']:.3f} vs len>39 "
          f"{agree['baseline']['accuracy']:.3f}")


def test_errors_exit_2_before_training(db: tuple[str, Store, Path]) -> None:
    url, store, folder = db
    cfg = write_config(folder)
    code, out = cli(url, "train", "rm", "--config", str(cfg), "--overwrite",
                    "--set", f"kindling.model={folder / 'nope'}")
    assert code == 2 and "not found" in out
    code, out = cli(url, "train", "rm", "--config", str(cfg), "--overwrite",
                    "--set", "kindling.pairs_dataset=sft")
    assert code == 2 and "no preference pairs" in out
    code, out = cli(url, "train", "rm", "--config", str(cfg), "--overwrite",
                    "--set", "kindling.pairs_run=999")
    assert code == 2 and "no run with id 999" in out
    code, out = cli(url, "eval", "rm", "--model", str(folder / "nope"), "--limit", "4")
    assert code == 2 and "not found" in out
    code, out = cli(url, "eval", "rm", "--model", str(folder / "tiny"), "--pairs-dataset", "sft",
                    "--limit", "4")
    assert code == 2 and "no preference pairs" in out
    code, out = cli(url, "train", "rm", "--config", str(cfg))  # the earlier run's folder
    assert code == 2 and "holds an earlier run's output; pass --overwrite" in out
    with store.session() as s:
        assert s.query(Run).filter(Run.kind.in_(["rm", "eval"]), Run.status != "finished").count() == 0
