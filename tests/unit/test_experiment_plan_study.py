"""`kindling experiment plan`: the paper's study fits 4 × 80 GiB, is refused on one card with what
would fit, the tiny study plans on the CPU, money per role follows the price file, an unknown
model has no price (never 0); the shipped model shapes are the published parameter counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kindling.rl.memory_estimate import GiB, model_shape
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services import gpus, plan_memory
from kindling.services.plan_study import StudyPlan, build_study, load_for_plan

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PAPER = CONFIGS / "experiment_paper.yaml"
TINY = CONFIGS / "experiment_tiny.yaml"
ONE_CARD = {"launch.processes": 1, "devices.count": 1}


@pytest.fixture(autouse=True)
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plan as on a laptop: the devices come from the experiment file."""
    monkeypatch.setattr(gpus, "seen_devices", lambda: None)


def study(path: Path, overrides: dict[str, Any] | None = None, **kwargs: Any) -> StudyPlan:
    cfg, plan, cpu = load_for_plan(path, overrides or {})
    return build_study(cfg, plan, config_file=path, overrides=overrides, cpu=cpu, **kwargs)


@pytest.fixture(scope="module")
def paper() -> StudyPlan:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gpus, "seen_devices", lambda: None)
        return study(PAPER)


def test_shipped_shapes_are_the_published_parameter_counts() -> None:
    counts = {m: model_shape(plan_memory.model_config(m)[0]).params
              for m in plan_memory.shipped_shapes()}
    assert counts == {"Qwen/Qwen2.5-7B-Instruct": 7_615_616_512,
                      "Qwen/Qwen2.5-3B-Instruct": 3_085_938_688,
                      "Qwen/Qwen2.5-1.5B-Instruct": 1_543_714_304,
                      "Qwen/Qwen2.5-0.5B-Instruct": 494_032_768}


def test_paper_plan_fits_four_80_gib_cards(paper: StudyPlan) -> None:
    assert paper.devices is not None and (paper.devices.count, paper.devices.memory) == (4, 80 * GiB)
    assert paper.refused == []
    for name in ("sft", "rm", "grpo_rm", "grpo_judge"):
        step = paper.step(name)
        assert step.processes == 4 and step.memory is not None and step.memory.fits
        assert step.memory.estimate.setup.sharding == "fsdp"
        assert step.command.startswith("accelerate launch --config_file ")
        assert "--num_processes 4 -m kindling train" in step.command
    grpo = paper.step("grpo_rm").memory
    assert grpo is not None and grpo.estimate.vllm == int(0.3 * 80 * GiB)
    assert set(grpo.extras) == {"reference", "reward model"}
    assert paper.step("sft").memory.estimate.setup.lora_r is None  # type: ignore[union-attr]
    assert paper.step("rm").memory.estimate.setup.lora_r == 16  # type: ignore[union-attr]


def test_paper_llm_calls_per_role(paper: StudyPlan) -> None:
    roles = {(m.calls.step, m.calls.role): m.calls for s in paper.steps for m in s.money}
    for role in ("advocate", "critic", "judge", "reflect"):
        assert roles[("path_a", role)].calls == 2000 * 4
    # 5 iterations: 4 flawed + 4 labelled a round, 100 validation items 6 times (start + 5)
    assert roles[("path_b", "detect")].calls == 5 * 4 + 5 * 4 + 6 * 100
    assert roles[("path_b", "detect")].at_most
    assert roles[("grpo_judge", "detect")].calls == 3200 * 4 * 5  # prompts × generations × epochs
    assert roles[("agreement", "detect")].calls == 400
    assert roles[("compare", "detect")].calls == 256 * 4 * (4 + 2)
    assert all(c.input_tokens > 50 for (step, _), c in roles.items() if step != "compare")
    assert paper.totals.typical is not None and paper.totals.at_most > paper.totals.typical


def test_one_card_is_refused_with_what_would_fit() -> None:
    one = study(PAPER, ONE_CARD)
    assert [s.name for s in one.refused] == ["sft", "grpo_rm", "grpo_judge"]
    sft = one.step("sft")
    assert sft.memory is not None and sft.memory.total > 80 * GiB
    lines = "\n".join(sft.suggestions)
    assert "--set launch.processes=2 --set launch.accelerate_config=" in lines
    assert "--set devices.count=2" in lines
    assert "kindling.lora" in lines and "--set base.model=Qwen/Qwen2.5-3B-Instruct" in lines
    # a step's own set is kept in the line that replaces it
    assert any("trl.vllm_gpu_memory_utilization" in s and "kindling.lora" in s
               for s in one.step("grpo_judge").suggestions)


def test_suggested_sharding_fits_when_pasted() -> None:
    one = study(PAPER, ONE_CARD)
    line = one.step("sft").suggestions[0]
    n = int(line.split("launch.processes=")[1].split()[0])
    again = study(PAPER, {"launch.processes": n, "devices.count": n})
    assert again.step("sft").memory.fits  # type: ignore[union-attr]


def test_tiny_plan_on_cpu_estimates_memory_without_a_check() -> None:
    tiny = study(TINY)
    assert tiny.devices is None and tiny.refused == []
    step = tiny.step("sft")
    assert step.memory is not None and step.memory.fits is None
    assert step.devices.startswith("CPU") and step.memory.total < 2 * GiB
    assert tiny.totals.typical == 0.0  # every agent runs the local model


def test_money_per_role_from_a_given_price_file(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  deepseek-chat: {input: 1.0, output: 2.0, source: test, "
                      "read_on: 2026-12-06}\n", encoding="utf-8")
    planned = study(PAPER, prices=prices)
    advocate = next(m for m in planned.step("path_a").money if m.calls.role == "advocate")
    c = advocate.calls
    assert advocate.typical == pytest.approx((c.total_input * 1.0 + c.total_output * 2.0) / 1e6)
    assert advocate.at_most == pytest.approx((c.total_input + 2.0 * c.calls * c.max_output) / 1e6)


def test_an_unknown_model_has_no_price_never_zero() -> None:
    endpoint = [{"label": "mystery", "llm": {"backend": "openai", "model": "mystery-model",
                                             "base_url": "https://example.com/v1"}}]
    planned = study(TINY, {"compare.endpoints": endpoint})
    mystery = next(m for m in planned.step("compare").money if m.calls.llm.model == "mystery-model")
    assert mystery.typical is None and mystery.unpriced == "mystery-model"
    assert planned.totals.typical is None and planned.totals.unpriced == ["mystery-model"]


def test_cli_plan_prints_and_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    db = f"sqlite:///{tmp_path / 'none.db'}"
    ok = CliRunner().invoke(app, ["--db-url", db, "experiment", "plan", "-c", str(TINY)])
    assert ok.exit_code == 0, ok.output
    assert "memory per device (GiB)" in ok.output and "LLM calls per role" in ok.output
    refused = CliRunner().invoke(app, ["--db-url", db, "experiment", "plan", "-c", str(PAPER),
                                       "--set", "launch.processes=1", "--set", "devices.count=1"])
    text = " ".join(refused.output.split())
    assert refused.exit_code == 2, refused.output
    assert "step sft: 125.8 GiB per device estimated" in text
    assert "--set launch.processes=2" in text and "the plan does not fit: sft, grpo_rm, grpo_judge" in text
    assert not (tmp_path / "none.db").exists()  # the plan created nothing


def test_experiment_paper_refuses_a_plan_that_cannot_fit_before_anything(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    db = tmp_path / "study.db"
    result = CliRunner().invoke(app, [
        "--db-url", f"sqlite:///{db}", "experiment", "paper", "-c", str(TINY),
        "--set", f"workdir={tmp_path / 'work'}", "--set", "devices={count: 1, memory_gib: 0.5}",
        "--set", "sft.set={trl.use_cpu: false}"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "plan: devices 1 × 0.5 GiB" in text and "step sft:" in text
    assert "nothing was started" in text
    assert not db.exists() and not (tmp_path / "work").exists()


def test_planned_beside_spent() -> None:
    from kindling.plan_views import spent_table
    from kindling.services.plan_costs import step_run_ids

    results = {"path_a": {"run": 3}, "path_b": {"run": 5, "sd_id": 9}, "grpo_judge": {"run": 7},
               "agreement": {"judge": {"judge_run": 8}}, "compare": {"judge_run": 11}}
    assert step_run_ids(results) == {"path_a": [3], "path_b": [5], "grpo_judge": [7],
                                     "agreement": [8], "compare": [11]}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gpus, "seen_devices", lambda: None)
        planned = study(TINY)
    table = spent_table(planned, {"path_a": (0.0, "USD")})
    assert [c.header for c in table.columns] == ["step", "planned", "at most", "spent"]
    assert table.row_count == 5  # path_a, path_b, grpo_judge, agreement, compare
