"""`kindling experiment paper` at reduced size, end to end over real HTTP (the stand-in server
plays every agent), with real TRL steps: every step's run lands in the store, the comparison
table prints, a rerun skips every step and a changed comparison redoes only that step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kindling.store.db import Store
from kindling.store.models import Run
from typer.testing import CliRunner

from kindling.cli import app
from tests.standin import StandinConfig, StandinServer

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def experiment_yaml(tmp_path: Path, paper: Path, base_url: str) -> Path:
    llm = {"backend": "openai", "base_url": base_url, "model": "standin",
           "api_key_env": "KINDLING_TEST_KEY", "backoff_initial_s": 0.01, "max_concurrency": 16}
    small_grpo = {"trl.max_steps": 1, "trl.per_device_train_batch_size": 4,
                  "trl.max_completion_length": 16, "kindling.length_reference_prompts": 4,
                  "kindling.limit": 16, "kindling.max_prompt_length": 160}
    cfg = {
        "workdir": str(tmp_path / "exp"), "data": str(paper),
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
    url = f"sqlite:///{tmp_path / 'kindling.db'}"
    script = StandinConfig(script="experiment", script_modules=["tests.standin.experiment_scripts"])
    with StandinServer(script) as server:
        path = experiment_yaml(tmp_path, paper_data, server.base_url)
        args = ["--db-url", url, "experiment", "paper", "-c", str(path), "--no-progress"]
        result = CliRunner().invoke(app, args)
        out = " ".join(result.output.split())
        assert result.exit_code == 0, out
        again = CliRunner().invoke(app, args)
        changed = CliRunner().invoke(app, [*args, "--set", "compare.prompts=3"])
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
