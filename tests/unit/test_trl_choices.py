"""TRL's GRPO `loss_type` and `multi_objective_aggregation`: every choice loads, a bad one is named
with the allowed values at config load, and Kindling's list of choices matches TRL's."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest
from kindling.rl.train_config import ConfigError, load_train_config
from kindling.rl.trl_config import FIELD_CHOICES
from trl import GRPOConfig

BASE: dict[str, object] = {"kindling.model": "models/tiny", "kindling.rewards": "{guard: 1.0}",
                           "trl.output_dir": "/tmp/unused", "trl.use_cpu": True,
                           "trl.report_to": "none"}
LOSS_TYPES = FIELD_CHOICES["GRPOConfig", "loss_type"]
AGGREGATIONS = FIELD_CHOICES["GRPOConfig", "multi_objective_aggregation"]


def trl_config(**sets: object) -> GRPOConfig:
    _, cfg = load_train_config("grpo", None, {**BASE, **sets})
    assert isinstance(cfg, GRPOConfig)
    return cfg


def test_the_asked_values_load() -> None:
    cfg = trl_config(**{"trl.multi_objective_aggregation": "normalize_then_sum", "trl.loss_type": "dapo"})
    assert cfg.multi_objective_aggregation == "normalize_then_sum" and cfg.loss_type == "dapo"


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_every_loss_type_loads(loss_type: str) -> None:
    extra = {"trl.importance_sampling_level": "sequence"} if loss_type == "luspo" else {}
    assert trl_config(**{"trl.loss_type": loss_type, **extra}).loss_type == loss_type


def test_bad_values_name_the_key_and_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=(
            r"^--set trl\.loss_type: 'dapoo' is not one of TRL's GRPOConfig\.loss_type values: "
            r"grpo, dr_grpo, dapo, bnpo, cispo, sapo, luspo, vespo \(did you mean dapo\?\)$")):
        trl_config(**{"trl.loss_type": "dapoo"})
    with pytest.raises(ConfigError, match=(
            r"^--set trl\.multi_objective_aggregation: 'mean' is not one of TRL's "
            r"GRPOConfig\.multi_objective_aggregation values: sum_then_normalize, normalize_then_sum$")):
        trl_config(**{"trl.multi_objective_aggregation": "mean"})
    path = tmp_path / "g.yaml"
    path.write_text("kindling: {model: m, rewards: {guard: 1.0}}\ntrl: {output_dir: o, use_cpu: true, "
                    "loss_type: GRPO}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"g\.yaml: trl\.loss_type: 'GRPO' is not one of .*grpo"):
        load_train_config("grpo", path, {})


def _help(name: str) -> str:
    return next(f.metadata["help"] for f in dataclasses.fields(GRPOConfig) if f.name == name)


def _trainer_source() -> str:
    spec = importlib.util.find_spec("trl.trainer.grpo_trainer")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).read_text(encoding="utf-8")


def test_loss_types_match_trl() -> None:
    listed = re.search(r"Supported values are (.*?)\. ", _help("loss_type"))
    assert listed is not None
    assert re.findall(r"'(\w+)'", listed.group(1)) == list(LOSS_TYPES)
    source = _trainer_source()
    handled = set(re.findall(r'loss_type == "(\w+)"', source))
    for group in re.findall(r"loss_type in \[([^\]]*)\]", source):
        handled |= set(re.findall(r'"(\w+)"', group))
    assert set(LOSS_TYPES) <= handled


def test_aggregations_match_trl() -> None:
    assert set(re.findall(r"`'(\w+)'`", _help("multi_objective_aggregation"))) == set(AGGREGATIONS)
    source = _trainer_source()
    assert set(re.findall(r'multi_objective_aggregation == "(\w+)"', source)) == set(AGGREGATIONS)


def test_a_renamed_key_takes_its_old_name_on_an_older_transformers() -> None:
    from kindling.rl.trl_config import _older_names

    older = {"gradient_checkpointing", "output_dir"}  # transformers 5.17 knows only the old name
    assert _older_names({"activation_checkpointing": True, "output_dir": "o"}, older) == {
        "gradient_checkpointing": True, "output_dir": "o"}
    newer = older | {"activation_checkpointing"}
    assert _older_names({"activation_checkpointing": True}, newer) == {
        "activation_checkpointing": True}
