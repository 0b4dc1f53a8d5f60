"""benchmarks/gpu_paper_arms.py --smoke: configs/paper.yaml's GRPO arms through Kindling's own code path
on CPU (tiny policy, a paper-data subset), the judge arm against the stand-in server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kindling.ingest.readers import LAYOUT, read_folder

from benchmarks.gpu.paper_subset import make_subset
from tests.standin import StandinConfig, StandinServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_paper_arms.py"

pytest.importorskip("trl")


@pytest.fixture
def subset(tmp_path: Path, paper_data: Path) -> Path:
    make_subset(paper_data, tmp_path / "paper_data", rows=64)
    return tmp_path / "paper_data"


def run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "arms.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    for name in ("OUT", "DEEPSEEK_API_KEY"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(out), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=240)
    return proc, json.loads(out.read_text()) if out.exists() else {}


def run_here(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
             *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """The script's `main` as `python gpu_paper_arms.py ARGS --out ...` runs it, in this process
    (its imports, torch and TRL among them, are paid once): exit status, stdout, stderr, report.
    The smoke run and the argument checks run the script itself."""
    from benchmarks import gpu_paper_arms

    out = tmp_path / "arms.json"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    for name in ("OUT", "DEEPSEEK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    capsys.readouterr()
    code = gpu_paper_arms.main([*args, "--out", str(out)])
    captured = capsys.readouterr()
    proc = subprocess.CompletedProcess([str(SCRIPT), *args], code, captured.out, captured.err)
    return proc, json.loads(out.read_text()) if out.exists() else {}


def test_subset_keeps_the_layout_and_the_first_rows(tmp_path: Path, paper_data: Path) -> None:
    size = make_subset(paper_data, tmp_path / "sub", rows=5)
    parsed = read_folder(tmp_path / "sub")
    assert {dataset: len(parsed.items[dataset]) for dataset, _, _ in LAYOUT} == dict.fromkeys(
        (dataset for dataset, _, _ in LAYOUT), 5)
    assert parsed.items["sft"][0].query == read_folder(paper_data).items["sft"][0].query
    assert 0 < size < 100_000


@pytest.mark.slow
def test_smoke_runs_both_arms_through_kindling(tmp_path: Path, subset: Path) -> None:
    with StandinServer(StandinConfig(latency_s=0.01)) as server:
        proc, report = run(tmp_path, "--data", str(subset), "--judge-base-url", server.base_url,
                           "--judge-model", "standin")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert report["scale"] == "smoke" and "use_vllm set false" in report["generation"]
    assert report["import"]["rows"]["grpo_train"] == 64
    assert report["rm_train"]["status"] == "finished" and report["rm_train"]["step_s"] > 0
    assert set(report["arms"]) == {"rm", "judge"}
    for arm, result in report["arms"].items():
        assert result["status"] == "finished", (arm, result)
        assert result["overrides"]["trl.use_vllm"] is False and result["overrides"]["trl.max_steps"] == 2
        assert result["steps"] == 2 and result["step_s"] > 0 and result["completion_tokens_per_s"] > 0
        assert result["mean_completion_tokens"] == 16  # random weights: every completion runs to the cap
    assert report["arms"]["rm"]["overrides"]["kindling.rm_model"].endswith("/rm")
    assert report["arms"]["judge"]["judge_failed"] == 0  # every judge call answered
    assert "grpo judge   finished" in proc.stdout and "grpo rm      finished" in proc.stdout
    for part in (report["rm_train"], *report["arms"].values()):  # estimated; on CPU never measured
        m = part["memory_estimate"]
        assert m["estimated_gib"] > 0 and m["measured_gib"] is None and m["status"] == "no GPU: not measured"
        assert f"{m['label']}: estimated" in proc.stdout
    assert report["rm_train"]["memory_estimate"]["label"].startswith("rm_train LoRA r=16 fp32, batch 16×")
    assert set(report["arms"]["rm"]["memory_estimate"]["other_models_gib"]) == {"reference model", "reward model"}
    assert set(report["arms"]["judge"]["memory_estimate"]["other_models_gib"]) == {"reference model"}


@pytest.mark.slow
def test_the_judge_arm_without_an_endpoint_is_skipped_with_the_reason(
        tmp_path: Path, subset: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    proc, report = run_here(tmp_path, capsys, monkeypatch, "--smoke", "--data", str(subset),
                            "--arms", "judge")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "--judge-base-url" in report["arms"]["judge"]["skipped"]
    assert "rm_train" not in report  # the reward model is trained for the rm arm only
    assert "grpo judge   skipped: no judge endpoint" in proc.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--arms", "rm,bogus"], "--arms"),
    (["--set", "learning_rate=1"], "--set learning_rate=1"),
    (["--data", "/nonexistent/paper"], "not a folder"),
])
def test_bad_arguments_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    proc, report = run(tmp_path, *args)
    assert proc.returncode == 2 and message in proc.stderr and report == {}


def test_the_gpu_scale_without_cuda_records_why(tmp_path: Path, subset: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    proc, report = run_here(tmp_path, capsys, monkeypatch, "--data", str(subset))
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr
    assert report["error"].startswith("no CUDA device")
