"""`kindling train sft --launcher accelerate`: two real processes (gloo on the CPU) train one SFT run,
and only rank 0 writes to the store: exactly one run row, finished, with its steps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kindling.store.db import Store
from kindling.store.models import Run

from tests.fakes import seed_tiny_data
from tests.integration.test_train_sft import ITEMS, build_tiny_model, write_config

# distributed_type MULTI_GPU makes `accelerate launch` start one process per rank through torchrun;
# use_cpu (here and in the run config) puts them on the CPU, where accelerate picks gloo (MULTI_CPU).
# distributed_type MULTI_CPU itself starts a single process unless an MPI hostfile is given.
CPU_CONFIG = """\
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
num_processes: 1            # --num-processes 2 overrides it
use_cpu: true
mixed_precision: 'no'
num_machines: 1
machine_rank: 0
rdzv_backend: static
same_network: true
main_training_function: main
"""


def test_two_processes_write_one_finished_run(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store
) -> None:
    seed_tiny_data(sqlite_store, ITEMS)  # also brings the schema to head before both ranks open it
    tiny_model_dir = tmp_path / "tiny"
    build_tiny_model(tiny_model_dir, ["生日祝福", "新年祝福", "生日快乐！愿你被世界温柔以待。", "新年快乐！万事胜意。"])
    accelerate_cfg = tmp_path / "cpu2.yaml"
    accelerate_cfg.write_text(CPU_CONFIG, encoding="utf-8")
    cfg = write_config(tmp_path, tiny_model_dir)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("KINDLING_DB_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "kindling", "--db-url", sqlite_url, "train", "sft", "--config", str(cfg),
         "--set", "trl.max_steps=2", "--set", "trl.per_device_train_batch_size=1", "--no-progress",
         "--launcher", "accelerate", "--accelerate-config", str(accelerate_cfg), "--num-processes", "2"],
        capture_output=True, text=True, env=env, timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]

    with sqlite_store.session() as s:
        runs = s.query(Run).filter_by(kind="sft").all()
        assert len(runs) == 1, [(r.id, r.status) for r in runs]
        run = runs[0]
        assert run.status == "finished"
        steps = [e for e in run.metrics["steps"] if "loss" in e]
        assert [e["step"] for e in steps] == [1, 2]
        # 2 rows, 1 per device: an epoch is one step on 2 ranks (it would be two steps on 1)
        assert [e["epoch"] for e in steps] == [1.0, 2.0]
    # both ranks trained and returned rank 0's run id (printed once per process)
    assert output.count(f"sft run {run.id} finished") == 2, output[-4000:]
    assert (tmp_path / "out" / "model.safetensors").is_file()
