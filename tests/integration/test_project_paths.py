"""A project made by `kindling init`, trained from another folder: the run stores absolute paths,
and `eval policy --model run:NAME` finds its output from a third folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.store.db import Store
from kindling.store.models import Run
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.test_train_sft import ITEMS, build_tiny_model

TINY_SFT = ["--set", "trl.max_steps=2", "--set", "trl.per_device_train_batch_size=2",
            "--set", "trl.save_strategy=no", "--set", "trl.max_length=64", "--no-progress"]


def cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", url, *args])
    return result.exit_code, " ".join(result.output.split())


def test_project_run_used_from_any_folder(tmp_path: Path, sqlite_url: str, sqlite_store: Store,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seed_tiny_data(sqlite_store, ITEMS)
    project, elsewhere, third = tmp_path / "proj", tmp_path / "elsewhere", tmp_path / "third"
    elsewhere.mkdir()
    third.mkdir()
    assert cli(sqlite_url, "init", str(project))[0] == 0
    build_tiny_model(project / "models" / "tiny", ["生日祝福", "新年祝福", "生日快乐", "新年快乐"])

    monkeypatch.chdir(elsewhere)  # the config's ../models/tiny and ../runs/sft_tiny: the project's
    code, out = cli(sqlite_url, "train", "sft", "--config", "../proj/configs/sft_tiny.yaml",
                    "--name", "proj-sft", *TINY_SFT)
    assert code == 0, out
    assert (project / "runs" / "sft_tiny" / "config.json").is_file()
    assert not (elsewhere / "runs").exists() and not (elsewhere / "models").exists()
    with sqlite_store.session() as s:
        run = s.query(Run).filter_by(kind="sft").one()
        assert run.config["kindling"]["model"] == str(project / "models" / "tiny")
        assert run.config["trl"]["output_dir"] == str(project / "runs" / "sft_tiny")
        assert run.metrics["output_dir"] == str(project / "runs" / "sft_tiny")

    monkeypatch.chdir(third)
    code, out = cli(sqlite_url, "eval", "policy", "--model", "run:proj-sft",
                    "--model", "base=../proj/models/tiny", "--prompts", "sft",
                    "--limit", "2", "--max-new-tokens", "4")
    assert code == 0, out
    assert "run:proj-sft" in out
    with sqlite_store.session() as s:
        evaluation = s.query(Run).filter_by(kind="eval").one()
        assert evaluation.config["policies"] == {  # a folder given from here: stored absolute
            "run:proj-sft": str(project / "runs" / "sft_tiny"),
            "base": str(project / "models" / "tiny")}
