"""The quickstart's skip rule and its reading of the GRPO weights."""

from pathlib import Path

import pytest
from kindling.agents.config import ConfigError

from kindling.commands.quickstart import _reward_weights, finished
from kindling.outputs import claim_dir


def test_finished_needs_a_final_model_not_just_checkpoints(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    claim_dir(folder, overwrite=False, command="test")
    (folder / "checkpoint-30").mkdir()
    (folder / "checkpoint-30" / "config.json").write_text("{}")
    assert not finished(folder)
    (folder / "adapter_config.json").write_text("{}")
    assert finished(folder)


def test_a_folder_kindling_did_not_make_is_never_finished(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")  # the user's own model folder
    assert not finished(tmp_path)


def test_reward_weights_from_the_grpo_config(tmp_path: Path) -> None:
    cfg = tmp_path / "grpo.yaml"
    cfg.write_text("kindling:\n  rewards: {rm: 1.0, length_control: 10}\n")
    assert _reward_weights(cfg) == {"rm": 1.0, "length_control": 10.0}
    cfg.write_text("kindling: {}\n")
    assert _reward_weights(cfg) == {}
    cfg.write_text("kindling: [\n")
    with pytest.raises(ConfigError, match="grpo.yaml"):
        _reward_weights(cfg)
