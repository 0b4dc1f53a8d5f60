"""`--launcher accelerate`: the command line it re-runs, the shipped accelerate configs (checked with
accelerate's own loader and launch options), and the errors for missing optional extras."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from kindling.rl.train_config import load_train_config
from kindling.store.db import Store
from typer.testing import CliRunner

from kindling.cli import app
from kindling.launcher import TrainArgs, accelerate_command, check_accelerate_config

ROOT = Path(__file__).resolve().parents[2]
ACCELERATE_CONFIGS = ROOT / "configs" / "accelerate"
TINY_SFT = ROOT / "configs" / "sft_tiny.yaml"


def test_command_forwards_every_option() -> None:
    train = TrainArgs("grpo", Path("configs/paper.yaml"), ["trl.max_steps=5", "kindling.limit=8"],
                      live=False, db_url="sqlite:///runs.db")
    assert accelerate_command(train, accelerate_config=Path("configs/accelerate/zero3.yaml"),
                              num_processes=8, python="py") == [
        "py", "-m", "accelerate.commands.launch", "--config_file", "configs/accelerate/zero3.yaml",
        "--num_processes", "8", "-m", "kindling", "--db-url", "sqlite:///runs.db",
        "train", "grpo", "--config", "configs/paper.yaml",
        "--set", "trl.max_steps=5", "--set", "kindling.limit=8", "--no-progress", "--launcher", "none"]


def test_command_leaves_out_what_was_not_given() -> None:
    assert accelerate_command(TrainArgs("sft", Path("c.yaml")), python="py") == [
        "py", "-m", "accelerate.commands.launch", "-m", "kindling",
        "train", "sft", "--config", "c.yaml", "--progress", "--launcher", "none"]


@pytest.mark.parametrize(("name", "kind"), [("ddp", "MULTI_GPU"), ("fsdp", "FSDP"), ("zero3", "DEEPSPEED")])
def test_shipped_configs_load_with_accelerate(name: str, kind: str) -> None:
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    cfg = load_config_from_file(str(ACCELERATE_CONFIGS / f"{name}.yaml"))
    assert isinstance(cfg, ClusterConfig)
    assert cfg.distributed_type.value == kind and cfg.mixed_precision == "bf16" and not cfg.use_cpu
    # accelerate copies nested keys onto its launch options, silently ignoring unknown ones
    options = {action.dest for action in launch_command_parser()._actions}
    nested = [*cfg.fsdp_config, *cfg.deepspeed_config]
    assert nested or name == "ddp"
    assert [key for key in nested if key not in options] == []
    if name == "fsdp":
        assert cfg.fsdp_config["fsdp_transformer_layer_cls_to_wrap"] == "Qwen2DecoderLayer"
        assert cfg.fsdp_config["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
        assert cfg.fsdp_config["fsdp_reshard_after_forward"] is True  # FULL_SHARD
    if name == "zero3":
        assert cfg.deepspeed_config["zero_stage"] == 3
        assert cfg.deepspeed_config["offload_optimizer_device"] == "none"
        assert cfg.deepspeed_config["offload_param_device"] == "none"


def test_deepspeed_config_needs_the_extra(tmp_path: Path) -> None:
    zero3 = ACCELERATE_CONFIGS / "zero3.yaml"
    if importlib.util.find_spec("deepspeed") is None:
        with pytest.raises(ValueError, match=r"zero3\.yaml.*pip install 'kindling\[deepspeed\]'"):
            check_accelerate_config(zero3)
    check_accelerate_config(ACCELERATE_CONFIGS / "ddp.yaml")
    with pytest.raises(ValueError, match=r"nope\.yaml: cannot read"):
        check_accelerate_config(tmp_path / "nope.yaml")


def test_cli_runs_accelerate_and_returns_its_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(cmd: list[str]) -> int:
        calls.append(cmd)
        return 3

    monkeypatch.setattr("kindling.commands.train.run_child", fake_run)
    result = CliRunner().invoke(app, [
        "--db-url", "sqlite:///x.db", "train", "sft", "--config", str(TINY_SFT), "--set", "trl.max_steps=2",
        "--launcher", "accelerate", "--accelerate-config", str(ACCELERATE_CONFIGS / "ddp.yaml"),
        "--num-processes", "2"])
    assert result.exit_code == 3, result.output
    [cmd] = calls
    assert cmd[cmd.index("--config_file") + 1] == str(ACCELERATE_CONFIGS / "ddp.yaml")
    assert cmd[cmd.index("--num_processes") + 1] == "2"
    assert cmd[cmd.index("kindling") + 1:] == [
        "--db-url", "sqlite:///x.db", "train", "sft", "--config", str(TINY_SFT),
        "--set", "trl.max_steps=2", "--progress", "--launcher", "none"]


def test_cli_rejects_launch_options_without_the_launcher() -> None:
    result = CliRunner().invoke(app, ["train", "rm", "--config", str(TINY_SFT), "--num-processes", "2"])
    assert result.exit_code == 2 and "need --launcher accelerate" in " ".join(result.output.split())


def test_use_vllm_without_vllm_is_a_clear_error(sqlite_store: Store) -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed")
    from kindling.rl.grpo import prepare_grpo
    from kindling.rl.train_config import KindlingGRPO

    kcfg, trl_cfg = load_train_config("grpo", None, {
        "kindling.model": "models/tiny", "kindling.rewards": "{guard: 1.0}",
        "trl.output_dir": "out", "trl.use_cpu": "true", "trl.use_vllm": "true", "trl.report_to": "none",
        "trl.per_device_train_batch_size": "4", "trl.num_generations": "4"})
    assert isinstance(kcfg, KindlingGRPO)
    # the empty store would fail on its prompts next: the extra is checked first
    with pytest.raises(ValueError, match=r"trl\.use_vllm needs the optional extra: pip install 'kindling\[vllm\]'"):
        prepare_grpo(sqlite_store, kcfg, trl_cfg)
