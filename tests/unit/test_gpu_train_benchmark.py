"""benchmarks/gpu_train.py --smoke: every phase runs on CPU (tiny shape) and the JSON holds the figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_train.py"
MEASURED = ("sft", "rm", "grpo", "grpo_trl", "grpo_gen128")

pytest.importorskip("trl")
pytest.importorskip("datasets")


@pytest.mark.slow
def test_smoke_run_writes_every_phase_and_skips_vllm_with_a_reason(tmp_path: Path) -> None:
    out = tmp_path / "gpu_train.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("OUT", None)
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(out)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["mode"]["name"] == "smoke"
    assert list(report["phases"]) == [*MEASURED, "grpo_vllm"]
    for name in MEASURED:
        phase = report["phases"][name]
        assert "error" not in phase and "skipped" not in phase, (name, phase)
        assert phase["tokens_per_s"] > 0 and phase["step_s"] > 0, (name, phase)
        assert phase["timed_steps"] >= 1
    for name in ("grpo", "grpo_trl", "grpo_gen128"):  # exactly max_completion_length tokens each
        phase = report["phases"][name]
        assert phase["tokens_per_completion"] == report["mode"]["completion_tokens"], (name, phase)
    assert report["phases"]["grpo"]["completions"] == report["mode"]["grpo"]["per_device_train_batch_size"]
    assert report["phases"]["grpo"]["settings"]["use_vllm"] is False
    assert report["phases"]["grpo_trl"]["settings"]["gradient_checkpointing"] is True  # TRL's default kept
    # no vllm in the test environment (nor a GPU): recorded as skipped, with the reason
    assert "vllm" in report["phases"]["grpo_vllm"]["skipped"].lower()
    assert report["ratio"] > 0 and report["target_ratio"] == 5.0
    assert report["ratios"]["grpo"]["tokens_per_s_ratio"] == report["ratio"]
    assert report["ratios"]["grpo"]["meets_target"] is (report["ratio"] >= 5.0)
    assert report["ratios"]["grpo_gen128"]["tokens_per_s_ratio"] > 0
    assert set(report["ratios"]) == {"grpo", "grpo_gen128"}  # a skipped phase has no ratio
    assert report["best"]["phase"] in report["ratios"]
    assert "ratio (Kindling grpo / TRL defaults)" in proc.stdout
    assert "target >= 5x" in proc.stdout
    assert "grpo_vllm    skipped: vllm" in proc.stdout
    # the memory estimator beside each phase; no GPU here, so nothing measured and no error made up
    for name in MEASURED:
        m = report["phases"][name]["memory_estimate"]
        assert m["estimated_gib"] > 0 and m["measured_gib"] is None and m["relative_error"] is None, (name, m)
        assert m["status"] == "no GPU: not measured"
        line = next(x for x in proc.stdout.splitlines() if x.startswith(f"{m['label']}: "))
        assert line.startswith(f"{m['label']}: estimated {m['estimated_gib']:.2f} GiB")
        assert line.endswith("; no GPU: not measured") and "measured " not in line.replace("not measured", "")
    assert "memory_estimate" not in report["phases"]["grpo_vllm"]
    assert report["phases"]["sft"]["memory_estimate"]["label"] == "sft full fp32, batch 4×64"


def test_phases_flag_rejects_unknown_names() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--phases", "sft,bogus"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "bogus" in proc.stderr
