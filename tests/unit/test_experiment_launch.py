"""Which process runs each experiment step: the training command a user could type (under
`accelerate launch` when launch: asks), placeholders for links not made yet, values that parse
back as they were."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from kindling.agents.config import parse_sets

from kindling.services.experiment import load_experiment
from kindling.services.experiment_launch import StepProcess, log_tail, set_value, step_process

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def plan_of(tmp_path: Path, **extra: object):
    cfg = yaml.safe_load((CONFIGS / "experiment_tiny.yaml").read_text(encoding="utf-8"))
    cfg.update(workdir=str(tmp_path / "exp"), **extra)
    for step in ("sft", "path_a", "rm", "grpo_rm", "path_b", "grpo_judge"):
        cfg[step]["config"] = str(CONFIGS / cfg[step]["config"])
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path, load_experiment(path)[1]


def test_a_training_step_is_the_train_command_with_its_links(tmp_path: Path) -> None:
    path, plan = plan_of(tmp_path)
    step = step_process(plan, "rm", results={"pairs": {"run": 7}}, config=path, sets=[],
                        progress=False, result_file=tmp_path / "r.json")
    assert step.processes == 1 and step.log == tmp_path / "exp" / "logs" / "rm.log"
    argv = step.argv
    assert argv[:5] == [sys.executable, "-m", "kindling", "train", "rm"]
    sets = parse_sets([argv[i + 1] for i, a in enumerate(argv) if a == "--set"])
    assert sets["kindling.pairs_run"] == 7
    assert sets["kindling.model"] == str(tmp_path / "exp" / "runs" / "sft")
    assert sets["trl.num_train_epochs"] == 3  # the experiment's set: on top of the links
    assert argv[-3:] == ["--launcher", "none", "--overwrite"]
    assert step.shown().startswith("kindling train rm --config ")


def test_launch_puts_a_training_step_under_accelerate(tmp_path: Path) -> None:
    (tmp_path / "fsdp.yaml").write_text("distributed_type: FSDP\n", encoding="utf-8")
    path, plan = plan_of(tmp_path, launch={"processes": 4, "accelerate_config": "fsdp.yaml"})
    step = step_process(plan, "grpo_judge", results=None, config=path, sets=[],
                        progress=True, result_file=tmp_path / "r.json")
    assert step.processes == 4
    assert step.argv[1:6] == ["-m", "accelerate.commands.launch", "--config_file",
                              str(tmp_path / "fsdp.yaml"), "--num_processes"]
    shown = step.shown()
    assert shown.startswith("accelerate launch --config_file") and "-m kindling train grpo" in shown
    assert "<S_D version from step path_b>" in shown  # not made yet: a placeholder, said so


def test_a_steps_own_launch_wins(tmp_path: Path) -> None:
    cfg = {"launch": {"processes": 4}}
    path, plan = plan_of(tmp_path, **cfg)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["rm"]["launch"] = {"processes": 1}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    plan = load_experiment(path)[1]
    rm = step_process(plan, "rm", results=None, config=path, sets=[], progress=False,
                      result_file=tmp_path / "r.json")
    sft = step_process(plan, "sft", results=None, config=path, sets=[], progress=False,
                       result_file=tmp_path / "r.json")
    assert rm.processes == 1 and "accelerate.commands.launch" not in rm.argv
    assert sft.processes == 4 and "accelerate.commands.launch" in sft.argv


def test_other_steps_run_as_a_hidden_experiment_step(tmp_path: Path) -> None:
    path, plan = plan_of(tmp_path)
    step = step_process(plan, "compare", results=None, config=path, sets=["compare.prompts=3"],
                        progress=False, result_file=tmp_path / "r.json")
    assert step.argv[1:] == ["-m", "kindling", "experiment", "step", "compare", "--config",
                             str(path), "--set", "compare.prompts=3", "--result-file",
                             str(tmp_path / "r.json"), "--no-progress"]


def test_set_values_parse_back_as_they_were() -> None:
    for value in (1, 0.5, 1e-05, 3e20, None, True, "null", "3", "text", "a: b", "@x", "",
                  {"rm": 1.0, "lr": 1e-06}, [1, "x"], "生日", "it's"):
        assert yaml.safe_load(set_value(value)) == value, (value, set_value(value))


def test_a_failure_shows_the_logs_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)), encoding="utf-8")
    tail = log_tail(log, 3)
    assert tail.splitlines() == ["  line 97", "  line 98", "  line 99"]
    assert log_tail(tmp_path / "none.log") == "(no log)"
    assert StepProcess(["x"], 1, log).shown() == "x"
