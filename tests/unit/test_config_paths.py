"""Paths in configs: a file's resolve against its folder, the command line's against the current
folder, a hub id stays a hub id, a shipped config never points inside the package."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kindling.agents.adversarial.config import AdversarialConfig
from kindling.agents.config import load_config
from kindling.agents.curate.config import CurateConfig
from kindling.agents.paths import PathRule, config_base, resolve_value
from kindling.configs import shipped_configs
from kindling.rl.train_config import load_train_config

HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder: neither the project nor the package."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder holding a copy of the shipped configs in configs/."""
    folder = tmp_path / "project"
    shutil.copytree(shipped_configs(), folder / "configs",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


def test_model_rule_keeps_hub_ids_and_names(tmp_path: Path) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    for kept in (HUB_ID, "smollm2", "tiny", "run:3", "run:sft-tiny", "models/absent"):
        assert resolve_value(PathRule.MODEL, kept, tmp_path) == kept
    assert resolve_value(PathRule.MODEL, "models/tiny", tmp_path) == str(tmp_path / "models/tiny")
    assert resolve_value(PathRule.MODEL, "./absent", tmp_path) == str(tmp_path / "absent")
    assert resolve_value(PathRule.MODEL, "../absent", tmp_path) == str(tmp_path.parent / "absent")
    assert resolve_value(PathRule.MODEL, "/abs/model", tmp_path) == "/abs/model"


def test_path_and_principle_rules(tmp_path: Path) -> None:
    assert resolve_value(PathRule.PATH, "runs/x", tmp_path) == str(tmp_path / "runs/x")
    assert resolve_value(PathRule.PATH, None, tmp_path) is None
    for kept in ("12", "detector_initial"):
        assert resolve_value(PathRule.PRINCIPLES, kept, tmp_path) == kept
    for path in ("mine.yaml", "principles/mine", "../mine.yml"):
        assert resolve_value(PathRule.PRINCIPLES, path, tmp_path) == str((tmp_path / path).resolve())


def test_train_config_copied_elsewhere_resolves_against_itself(project: Path,
                                                               elsewhere: Path) -> None:
    kcfg, trl_cfg = load_train_config("grpo", project / "configs" / "grpo_tiny.yaml", {})
    assert kcfg.model == str(project / "runs" / "sft_tiny")
    assert kcfg.rm_model == str(project / "models" / "rm")
    assert trl_cfg.output_dir == str(project / "runs" / "grpo_tiny")


def test_command_line_paths_resolve_against_the_current_folder(project: Path,
                                                               elsewhere: Path) -> None:
    kcfg, trl_cfg = load_train_config("sft", project / "configs" / "sft_tiny.yaml", {
        "kindling.model": "./mine", "trl.output_dir": "out/sft"})
    assert kcfg.model == str(elsewhere / "mine")
    assert trl_cfg.output_dir == str(elsewhere / "out" / "sft")


def test_hub_id_stays_a_hub_id(project: Path, elsewhere: Path) -> None:
    path = project / "configs" / "sft_tiny.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("../models/tiny", HUB_ID),
                    encoding="utf-8")
    assert load_train_config("sft", path, {})[0].model == HUB_ID
    assert load_train_config("sft", path, {"kindling.model": HUB_ID})[0].model == HUB_ID


def test_paper_config_keeps_its_hub_id_and_points_at_the_project(project: Path,
                                                                 elsewhere: Path) -> None:
    cpu = {"trl.bf16": "false", "trl.use_cpu": "true"}  # its GPU settings fail on a CPU
    kcfg, trl_cfg = load_train_config("sft", project / "configs" / "paper.yaml", cpu)
    assert kcfg.model == "Qwen/Qwen2.5-7B-Instruct"
    assert trl_cfg.output_dir == str(project / "runs" / "paper" / "sft")


def test_shipped_config_resolves_as_if_in_configs_of_the_current_folder(elsewhere: Path) -> None:
    assert config_base(shipped_configs() / "sft_tiny.yaml") == elsewhere / "configs"
    _k, trl_cfg = load_train_config("sft", shipped_configs() / "sft_tiny.yaml", {})
    assert trl_cfg.output_dir == str(elsewhere / "runs" / "sft_tiny")
    assert not trl_cfg.output_dir.startswith(str(shipped_configs().parent))


def test_agent_configs_resolve_policy_principles_and_keep_endpoint_models(
        project: Path, elsewhere: Path) -> None:
    cfg = load_config(CurateConfig, project / "configs" / "curate_paper.yaml", {})
    assert cfg.policy is not None and cfg.policy.model == str(project / "runs" / "paper" / "sft")
    assert cfg.llm.model == "deepseek-chat"  # an endpoint's model name is never a path
    b = load_config(AdversarialConfig, project / "configs" / "adversarial_local.yaml",
                    {"detector_principles": "mine.yaml", "generator_strategies": "7"})
    assert b.detector_principles == str(elsewhere / "mine.yaml")
    assert b.generator_strategies == "7" and b.llm.model == "smollm2"


def test_experiment_paths_resolve_against_the_experiment_file(project: Path,
                                                              elsewhere: Path) -> None:
    from kindling.services.experiment import load_experiment

    cfg, plan = load_experiment(project / "configs" / "experiment_tiny.yaml",
                                {"data": None})
    assert cfg.workdir == str(project / "experiment_tiny")
    assert plan.config_path(cfg.sft) == project / "configs" / "sft_tiny.yaml"
    links = {"trl.output_dir": str(elsewhere / "o")}
    sets = plan.train_overrides("sft", links)
    assert sets["trl.output_dir"] == str(elsewhere / "o")
