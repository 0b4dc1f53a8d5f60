"""The GPU benchmarks' pure parts: ratios and verdicts, the table, figures from stored run metrics,
the config adaptation for an older transformers."""

from __future__ import annotations

from pathlib import Path

from benchmarks.gpu.paper_arms import step_figures
from benchmarks.gpu.report import best, ratios, table_lines

ROOT = Path(__file__).resolve().parents[2]


def phase(step_s: float, tokens_per_s: float, peak: float | None = None) -> dict:
    return {"step_s": step_s, "tokens_per_s": tokens_per_s, "peak_gib": peak, "kind": "completion tokens/s"}


def test_ratios_give_each_kindling_phase_its_verdict_against_trl_defaults() -> None:
    phases = {"grpo_trl": phase(5.0, 400.0, 10.0), "grpo": phase(9.0, 2400.0, 30.0),
              "grpo_gen128": phase(10.0, 1600.0, 40.0), "grpo_vllm": {"skipped": "vllm is not installed"}}
    r = ratios(phases)
    assert set(r) == {"grpo", "grpo_gen128"}
    assert r["grpo"]["tokens_per_s_ratio"] == 6.0 and r["grpo"]["meets_target"] is True
    assert r["grpo_gen128"]["tokens_per_s_ratio"] == 4.0 and r["grpo_gen128"]["meets_target"] is False
    assert r["grpo"]["extra_gib"] == 20.0 and r["grpo"]["step_s_ratio"] == 9.0 / 5.0
    assert best(r) == {"phase": "grpo", "ratio": 6.0, "meets_target": True}
    assert ratios({"grpo": phase(1.0, 10.0)}) == {} and best({}) is None  # no baseline, no ratio

    report = {"phases": phases, "ratios": r, "ratio": 6.0, "best": best(r)}
    text = "\n".join(table_lines(report))
    assert "grpo_vllm    skipped: vllm is not installed" in text
    grpo_row = next(line for line in text.splitlines() if line.startswith("grpo "))
    assert "6.00x  met" in grpo_row and "+20.00 GiB" in grpo_row
    assert "4.00x  not met" in text
    assert "ratio (Kindling grpo / TRL defaults): 6.00x  target >= 5x: met" in text


def test_step_figures_leave_out_the_first_generation_cycle() -> None:
    steps = [{"step": 1, "step_time": 10.0, "completions/mean_length": 500.0, "reward": 0.1},
             {"step": 2, "step_time": 1.0},
             {"step": 3, "step_time": 6.0, "completions/mean_length": 400.0, "reward": 0.2, "judge/failed": 1},
             {"step": 4, "step_time": 2.0},
             {"step": 4, "train_runtime": 20.0}]
    out = step_figures({"steps": steps, "final": {"train_runtime": 20.0}},
                       {"steps_per_generation": 2, "generation_batch_size": 32})
    assert out["steps"] == 4 and out["timed_steps"] == 2 and out["step_s"] == 4.0
    assert out["completion_tokens_per_s"] == 400.0 * 32 / 8.0 and out["mean_completion_tokens"] == 400.0
    assert out["judge_failed"] == 1 and out["train_runtime_s"] == 20.0
    rm = step_figures({"steps": [{"step": 2, "loss": 0.7}], "final": {"train_runtime": 3.0}}, {})
    assert rm["step_s"] == 1.5 and rm["steps"] == 2
