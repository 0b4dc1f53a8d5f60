"""`trl.report_to`: a tiny SFT run logs to TensorBoard event files and to trackio's local store.

Both run offline. TensorBoard writes under `<output_dir>/runs/<time>_<host>/` (transformers 5's
default; TENSORBOARD_LOGGING_DIR overrides it). trackio writes one SQLite file per project under
TRACKIO_DIR (read here with plain SQL: a JSON `metrics` row per logging step). The trackio run is a
subprocess, because trackio reads TRACKIO_DIR and huggingface_hub reads HF_HUB_OFFLINE when first
imported; its proxies point at a closed port, so any network call would fail.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from kindling.store.db import Store
from kindling.store.models import Run
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.test_train_sft import ITEMS, build_tiny_model, write_config

REPO = Path(__file__).resolve().parents[2]
DEAD_PROXY = "http://127.0.0.1:9"
SFT_TEXTS = ["生日祝福", "新年祝福", "生日快乐！愿你被世界温柔以待，所有的美好都如期而至。",
             "新年快乐！愿你新的一年里平安喜乐，万事胜意。"]  # seed_tiny_data's SFT rows


@pytest.fixture
def model_dir(tmp_path: Path, sqlite_store: Store) -> Path:
    """Two SFT rows in the store and a tiny model whose tokenizer knows their characters."""
    seed_tiny_data(sqlite_store, ITEMS)
    build_tiny_model(tmp_path / "tiny", [q + r for q, r, _ in ITEMS] + SFT_TEXTS)
    return tmp_path / "tiny"


def finished_sft_steps(store: Store) -> list[int]:
    """Steps of the one finished sft run that logged a loss (the store callback still records)."""
    with store.session() as s:
        run = s.query(Run).filter_by(kind="sft").one()
        assert run.status == "finished", run.metrics
        return [e["step"] for e in run.metrics["steps"] if "loss" in e]


def test_report_to_tensorboard_writes_event_files(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, model_dir: Path
) -> None:
    cfg = write_config(tmp_path, model_dir)
    result = CliRunner().invoke(app, ["--db-url", sqlite_url, "train", "sft", "--config", str(cfg),
                                      "--set", "trl.report_to=tensorboard", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert finished_sft_steps(sqlite_store) == [1, 2, 3]

    [events] = list((tmp_path / "out" / "runs").glob("*/events.out.tfevents.*"))
    acc = EventAccumulator(str(events.parent))
    acc.Reload()
    assert [e.step for e in acc.Scalars("train/loss")] == [1, 2, 3]
    assert "train/learning_rate" in acc.Tags()["scalars"]


def test_report_to_trackio_writes_its_local_store_offline(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, model_dir: Path
) -> None:
    cfg = write_config(tmp_path, model_dir)
    trackio_dir = tmp_path / "trackio"
    env = {**os.environ, "TRACKIO_DIR": str(trackio_dir), "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
           "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "NO_PROXY": "",
           "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY, "no_proxy": ""}
    for var in ("TRACKIO_SPACE_ID", "TRACKIO_SERVER_URL", "TRACKIO_BUCKET_ID", "TRACKIO_DATASET_ID"):
        env.pop(var, None)
    proc = subprocess.run(
        [sys.executable, "-m", "kindling", "--db-url", sqlite_url, "train", "sft", "--config",
         str(cfg), "--set", "trl.report_to=trackio", "--set", "trl.project=kindling-test",
         "--set", "trl.run_name=tiny-sft", "--no-progress"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert finished_sft_steps(sqlite_store) == [1, 2, 3]

    db = trackio_dir / "kindling-test.db"
    assert db.is_file(), sorted(p.name for p in trackio_dir.rglob("*"))
    with sqlite3.connect(db) as conn:
        rows = [json.loads(m) for (m,) in conn.execute(
            "SELECT metrics FROM metrics WHERE run_name = ? ORDER BY step", ("tiny-sft",))]
    logged = [m["train/global_step"] for m in rows if "train/loss" in m]
    assert logged == [1, 2, 3], rows
