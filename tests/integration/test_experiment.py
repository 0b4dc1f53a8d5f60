"""`kindling experiment paper` at reduced size, end to end over real HTTP (the stand-in server
plays every agent), with real TRL steps, each step in a process of its own and every training
step under `accelerate launch` with two processes (DDP over gloo on the CPU): every step's run
lands in the store once, the comparison table prints, a rerun skips every step and a changed
comparison redoes only that step. A step whose process fails stops the study naming its log,
and the finished steps before it stay recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kindling.store.db import Store
from kindling.store.models import Run
from typer.testing import CliRunner

from kindling.cli import app
from tests.integration.test_accelerate_launch import CPU_CONFIG
from tests.integration.test_budget_http import PRICES
from tests.standin import StandinConfig, StandinServer

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def experiment_yaml(tmp_path: Path, paper: Path, base_url: str) -> Path:
    llm = {"backend": "openai", "base_url": base_url, "model": "standin",
           "api_key_env": "KINDLING_TEST_KEY", "backoff_initial_s": 0.01, "max_concurrency": 16}
    small_grpo = {"trl.max_steps": 1, "trl.per_device_train_batch_size": 4,
                  "trl.max_completion_length": 16, "kindling.length_reference_prompts": 4,
                  "kindling.limit": 16, "kindling.max_prompt_length": 160}
    accelerate_cfg = tmp_path / "cpu2.yaml"
    accelerate_cfg.write_text(CPU_CONFIG, encoding="utf-8")
    cfg = {
        "workdir": str(tmp_path / "exp"), "data": str(paper),
        "launch": {"processes": 2, "accelerate_config": str(accelerate_cfg)},
        "base": {"model": "tiny", "vocab_size": 300},
        "sft": {"config": str(CONFIGS / "sft_tiny.yaml"),
                "set": {"trl.max_steps": 2, "kindling.limit": 64}},
        "path_a": {"config": str(CONFIGS / "curate_local.yaml"), "queries": 4,
                   "samples_per_query": 4, "pairs_per_query": "all", "min_pairs": 1,
                   "set": {"llm": llm, "policy.max_new_tokens": 16, "retrieval.k": 1}},
        "rm": {"config": str(CONFIGS / "rm_tiny.yaml"), "set": {"trl.max_steps": 2}},
        "grpo_rm": {"config": str(CONFIGS / "grpo_tiny.yaml"),
                    "set": {**small_grpo, "kindling.rewards": {"rm": 1.0}}},
        "path_b": {"config": str(CONFIGS / "adversarial_local.yaml"),
                   "set": {"llm": llm, "iterations": 1, "validation_size": 4}},
        "grpo_judge": {"config": str(CONFIGS / "grpo_judge_tiny.yaml"),
                       "set": {**small_grpo, "kindling.judge.llm": llm}},
        "compare": {"prompts": 2, "samples_per_prompt": 1, "max_new_tokens": 16,
                    "labelled_items": 6, "examples": 1,
                    "endpoints": [{"label": "standin-chat", "llm": llm}]},
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def run_kinds(url: str) -> list[Run]:
    store = Store(url)
    try:
        with store.session() as s:
            runs = s.query(Run).order_by(Run.id).all()
            s.expunge_all()
            return runs
    finally:
        store.close()


def test_experiment_end_to_end_then_resume(tmp_path: Path, paper_data: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # two ranks on two cores
    url = f"sqlite:///{tmp_path / 'kindling.db'}"
    script = StandinConfig(script="experiment", script_modules=["tests.standin.experiment_scripts"])
    (tmp_path / "prices.yaml").write_text(PRICES, encoding="utf-8")
    with StandinServer(script) as server:
        path = experiment_yaml(tmp_path, paper_data, server.base_url)
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        cfg["budget"] = {"max_cost": 10**6, "prices": "prices.yaml"}  # priced at every step
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        args = ["--db-url", url, "experiment", "paper", "-c", str(path), "--no-progress"]
        result = CliRunner().invoke(app, args)
        out = " ".join(result.output.split())
        assert result.exit_code == 0, out
        again = CliRunner().invoke(app, args)
        changed = CliRunner().invoke(app, [*args, "--set", "compare.prompts=3"])
    assert "LLM money: planned and spent" in out and "unknown" not in out.split(
        "LLM money: planned and spent")[1]  # the policy's own samples cost nothing
    for title in ("path_a: Path A", "grpo_judge: GRPO with the refined judge",
                  "evaluators vs labels they never saw", "policies on held-out prompts",
                  "judge excellence", "RM excellence", "self-BLEU"):
        assert title in out
    state = json.loads((tmp_path / "exp" / "experiment.json").read_text(encoding="utf-8"))
    steps = state["steps"]
    assert list(steps) == ["import", "base", "sft", "path_a", "pairs", "rm", "grpo_rm",
                           "path_b", "grpo_judge", "agreement", "compare"]
    assert steps["pairs"]["result"]["pairs"] >= 1
    assert list(steps["compare"]["result"]["policies"]) == [
        "base", "sft", "grpo-rm", "grpo-judge", "standin-chat"]
    for figures in steps["compare"]["result"]["policies"].values():
        assert figures["judge"]["excellence"]["rate"] is not None and "rm" in figures
    agreement = steps["agreement"]["result"]
    assert agreement["judge"]["n"] == 6 and agreement["rm"]["n"] == 6
    assert agreement["rm"]["seen"] == 0  # Path A's pairs are policy samples, not labelled texts

    logs = tmp_path / "exp" / "logs"
    for step in ("sft", "rm", "grpo_rm", "grpo_judge"):  # both ranks trained, rank 0 stored
        log = (logs / f"{step}.log").read_text(encoding="utf-8")
        run = steps[step]["result"]["run"]
        assert log.count(f"run {run} finished") == 2, log[-3000:]
    assert "accelerate launch --config_file" in out and "--num_processes 2" in out
    assert {p.name for p in logs.glob("*.log")} == {
        f"{s}.log" for s in ("sft", "path_a", "rm", "grpo_rm", "path_b", "grpo_judge",
                             "agreement", "compare")}

    runs = run_kinds(url)
    by_kind: dict[str, list[Run]] = {}
    for run in runs:
        by_kind.setdefault(run.kind, []).append(run)
    assert {"import", "sft", "curate", "pairs", "rm", "grpo", "adversarial", "judge",
            "eval"} <= set(by_kind)
    assert all(r.status == "finished" for r in runs), [(r.kind, r.status) for r in runs]
    grpo_rm, grpo_judge = by_kind["grpo"]
    assert grpo_rm.config["kindling"]["rewards"] == {"rm": 1.0}
    assert grpo_judge.config["kindling"]["rewards"] == {"judge": 1.0}
    assert grpo_judge.config["kindling"]["judge"]["principles"] == str(
        steps["path_b"]["result"]["sd_id"])
    curate = by_kind["curate"][0]
    assert curate.config["source"] == "generate" and curate.config["prompt_set"] == "paper"
    assert curate.config["policy"]["model"] == str(tmp_path / "exp" / "runs" / "sft")

    again_out = " ".join(again.output.split())
    assert again.exit_code == 0, again_out
    assert again_out.count("done before") == 11
    changed_out = " ".join(changed.output.split())
    assert changed.exit_code == 0, changed_out
    assert changed_out.count("done before") == 10 and "compare: compare the policies" in changed_out
    assert len([r for r in run_kinds(url) if r.kind == "grpo"]) == 2  # nothing retrained


def test_a_failing_step_stops_with_its_log_and_keeps_what_finished(
        tmp_path: Path, paper_data: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kindling.db'}"
    path = experiment_yaml(tmp_path, paper_data, "http://127.0.0.1:9/v1")  # never reached
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg.pop("launch")  # one process: the failure, not the launcher, is under test
    cfg["sft"]["set"]["kindling.dataset"] = "no_such_dataset"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["--db-url", url, "experiment", "paper", "-c", str(path),
                                      "--no-progress"])
    out = " ".join(result.output.split())
    assert result.exit_code != 0, out
    assert "step sft: the step's process ended with status" in out
    assert "no_such_dataset" in out  # the step's output, shown as it ran, names the cause
    assert "its output is above" in out
    assert str(tmp_path / "exp" / "logs" / "sft.log") in out and "resume" in out
    state = json.loads((tmp_path / "exp" / "experiment.json").read_text(encoding="utf-8"))
    assert list(state["steps"]) == ["import", "base"]
    assert not [r for r in run_kinds(url) if r.kind == "sft" and r.status == "finished"]


def test_the_studys_budget_stops_path_a_and_a_raised_one_resumes_it(
        tmp_path: Path, paper_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """budget.max_cost is the whole study's: Path A gets what is left and stops between calls
    when it is spent; the same command with a raised budget resumes the same curate run."""
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    url = f"sqlite:///{tmp_path / 'kindling.db'}"
    (tmp_path / "prices.yaml").write_text(PRICES, encoding="utf-8")
    script = StandinConfig(script="experiment", script_modules=["tests.standin.experiment_scripts"])
    with StandinServer(script) as server:
        path = experiment_yaml(tmp_path, paper_data, server.base_url)
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        cfg.pop("launch")
        cfg["budget"] = {"max_cost": 0.5, "prices": "prices.yaml"}  # a few calls' worth
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        args = ["--db-url", url, "experiment", "paper", "-c", str(path), "--no-progress"]
        stopped = CliRunner().invoke(app, args)
        out = " ".join(stopped.output.split())
        assert stopped.exit_code != 0, out
        assert "budget: 0.5 USD (budget.max_cost)" in out  # the plan's summary says it first
        assert "step path_a" in out and "budget spent" in out, out
        [curate] = [r for r in run_kinds(url) if r.kind == "curate"]
        assert curate.status == "stopped"
        state = json.loads((tmp_path / "exp" / "experiment.json").read_text(encoding="utf-8"))
        assert list(state["steps"]) == ["import", "base", "sft"]
        # raised, and a pairs minimum no study this small meets: the run stops right after Path A
        resumed = CliRunner().invoke(app, [*args, "--set", "budget.max_cost=1000",
                                           "--set", "path_a.min_pairs=100000"])

    resumed_out = " ".join(resumed.output.split())
    assert resumed.exit_code != 0 and "path_a.min_pairs 100000" in resumed_out, resumed_out
    [curate] = [r for r in run_kinds(url) if r.kind == "curate"]  # the same run, finished
    assert curate.status == "finished"
    assert [r.kind for r in run_kinds(url)].count("sft") == 1  # nothing before it redone
