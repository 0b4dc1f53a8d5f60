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


def tiny_config():  # a Qwen2 config small enough that the meta-device count takes no time
    from transformers import Qwen2Config

    return Qwen2Config(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, intermediate_size=128, tie_word_embeddings=True)


def test_the_memory_line_and_fields_compare_the_estimate_with_the_measured_peak() -> None:
    from benchmarks.gpu.estimate import TrainingSetup, compare, estimate, label_of
    from benchmarks.gpu.report import memory_line, memory_lines

    setup = TrainingSetup(dtype="bf16", micro_batch_size=16, seq_len=512)
    entry = estimate(tiny_config(), setup, label_of("sft", setup))
    est = entry["estimated_gib"]
    assert entry["label"] == "sft full bf16, batch 16×512" and est == entry["estimator_gib"] > 1.0
    assert abs(sum(v for k, v in entry["breakdown_gib"].items() if k != "total") - est) < 1e-9
    assert "no fp32 master copy" in entry["notes"][0]  # bf16 weights: what the estimator over-counts

    m = compare(entry, {"peak_gib": est / 1.05, "peak_reserved_gib": est / 0.99})
    assert m["status"] == "compared" and m["measured_gib"] == est / 1.05
    assert abs(m["relative_error"] - 0.05) < 1e-9 and abs(m["relative_error_reserved"] + 0.01) < 1e-9
    assert memory_line("sft", m) == (f"sft full bf16, batch 16×512: measured {est / 1.05:.2f} GiB, estimated "
                                     f"{est:.2f} GiB (+5.0%); reserved {est / 0.99:.2f} GiB (-1.0%)")
    assert memory_lines({"sft": {"memory_estimate": m}, "grpo_vllm": {"skipped": "no vllm"}})[2] == \
        "    note: " + m["notes"][0]  # the header, the line, its note; a skipped phase has none

    no_gpu = compare(entry, {"peak_gib": None, "peak_reserved_gib": None})  # the CPU smoke run
    assert no_gpu["status"] == "no GPU: not measured"
    assert no_gpu["measured_gib"] is None and no_gpu["relative_error"] is None
    assert no_gpu["relative_error_reserved"] is None
    assert memory_line("sft", no_gpu) == f"sft full bf16, batch 16×512: estimated {est:.2f} GiB; no GPU: not measured"

    failed = compare(entry, {"peak_gib": 70.0, "peak_reserved_gib": 75.0}, failed=True)
    assert failed["relative_error"] is None and "the run failed" in memory_line("sft", failed)


def test_the_gpu_phases_estimate_what_they_run() -> None:
    from benchmarks.gpu.estimate import GiB, train_phase_estimate
    from benchmarks.gpu.report import memory_line
    from benchmarks.gpu.settings import GPU

    config, card = tiny_config(), 80 * GiB
    settings = {"per_device_train_batch_size": 64, "gradient_checkpointing": False, "beta": 0.001,
                "bf16": True, "max_completion_length": 256, "use_vllm": False}
    grpo = train_phase_estimate(GPU, "grpo", {"peak_gib": 20.0, "peak_reserved_gib": 22.0,
                                              "settings": settings}, config, 40, card)
    assert grpo["label"] == "grpo full bf16, batch 64×296" and set(grpo["other_models_gib"]) == {"reference model"}
    assert grpo["estimated_gib"] == grpo["estimator_gib"] + grpo["other_models_gib"]["reference model"]
    assert grpo["relative_error"] == (grpo["estimated_gib"] - 20.0) / 20.0
    assert "(with reference model " in memory_line("grpo", grpo)

    rm = train_phase_estimate(GPU, "rm", {"peak_gib": None}, config, 40, None)
    assert rm["label"] == "rm full bf16, batch 32×512"  # chosen and rejected in one batch
    assert "score head" in rm["setup"] and rm["status"] == "no GPU: not measured"

    # grpo_vllm: vLLM's share of the card as the estimator adds it; without the card's size, no figure
    vllm_settings = {**settings, "use_vllm": True, "vllm_gpu_memory_utilization": 0.3}
    vllm = train_phase_estimate(GPU, "grpo_vllm", {"peak_gib": 40.0, "settings": vllm_settings}, config, 40, card)
    assert vllm["breakdown_gib"]["vllm"] == 0.3 * 80 and vllm["status"] == "compared"
    unknown = train_phase_estimate(GPU, "grpo_vllm", {"peak_gib": 40.0, "settings": vllm_settings}, config, 40,
                                   None)
    assert "estimated_gib" not in unknown and unknown["measured_gib"] == 40.0
    assert unknown["relative_error"] is None and unknown["status"].startswith("not comparable: vLLM's share")

    # a phase that failed before recording its GRPOConfig: TRL's defaults for grpo_trl
    trl = train_phase_estimate(GPU, "grpo_trl", {"error": "OutOfMemoryError", "peak_gib": 79.0}, config, 40, card)
    assert trl["label"] == "grpo_trl full bf16, batch 8×296, checkpointing" and trl["other_models_gib"] == {}
    assert trl["relative_error"] is None and "the run failed" in trl["status"]


def test_a_kindling_run_config_gives_the_paper_arms_estimate() -> None:
    from benchmarks.gpu.estimate import GiB, run_estimate
    from benchmarks.gpu.paper_arms import table_lines

    config = tiny_config()
    rm = run_estimate("rm", "rm_train", {"lora": {"r": 16, "target_modules": "all-linear"}},
                      {"per_device_train_batch_size": 8, "max_length": 768, "bf16": True,
                       "activation_checkpointing": True}, config, None)
    assert rm["label"] == "rm_train LoRA r=16 bf16, batch 16×768, checkpointing"
    grpo_trl = {"per_device_train_batch_size": 16, "max_completion_length": 512, "bf16": True, "beta": 0.001,
                "use_vllm": True, "vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.8}
    grpo = run_estimate("grpo", "grpo rm", {"lora": None, "max_prompt_length": 256, "rewards": {"rm": 1.0}},
                        grpo_trl, config, 80 * GiB)
    assert grpo["label"] == "grpo rm full bf16, batch 16×768, vLLM colocate 80%"
    assert set(grpo["other_models_gib"]) == {"reference model", "reward model"}
    assert grpo["breakdown_gib"]["vllm"] == 0.8 * 80
    sleep = run_estimate("grpo", "grpo rm", {"max_prompt_length": 256}, {**grpo_trl, "vllm_enable_sleep_mode": True},
                         config, 80 * GiB)
    assert "sleep mode" in sleep["not_comparable"]

    from benchmarks.gpu.estimate import compare

    report = {"generation": "transformers generate", "rm_train": {
        "status": "finished", "steps": 1, "step_s": 1.0, "wall_s": 2.0, "peak_gib": None,
        "memory_estimate": compare(rm, {"peak_gib": None, "peak_reserved_gib": None})}, "arms": {}}
    text = "\n".join(table_lines(report))
    assert f"rm_train LoRA r=16 bf16, batch 16×768, checkpointing: estimated {rm['estimated_gib']:.2f} GiB; " \
           "no GPU: not measured" in text
