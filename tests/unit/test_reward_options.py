"""`kindling.reward_options` in a GRPO config: checked at config load, errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.rl.rewards.trl_helpers import RepetitionPenaltyOptions, SoftOverlongOptions
from kindling.rl.train_config import ConfigError, KindlingGRPO, config_dicts, load_train_config

ROOT = Path(__file__).resolve().parents[2]

YAML = """\
kindling:
  model: models/tiny
  rewards: {{guard: 1.0, repetition_penalty: 0.5}}
  reward_options:
{options}
trl:
  output_dir: {out}
  use_cpu: true
  report_to: none
"""


def write(tmp_path: Path, options: str) -> Path:
    path = tmp_path / "grpo.yaml"
    path.write_text(YAML.format(options=options, out=tmp_path / "out"), encoding="utf-8")
    return path


def load(path: Path | None, **sets: object) -> KindlingGRPO:
    base: dict[str, object] = {} if path else {
        "kindling.model": "models/tiny", "trl.output_dir": "/tmp/unused", "trl.use_cpu": True,
        "trl.report_to": "none"}
    kcfg, _ = load_train_config("grpo", path, {**base, **sets})
    assert isinstance(kcfg, KindlingGRPO)
    return kcfg


def test_options_from_yaml_and_set(tmp_path: Path) -> None:
    path = write(tmp_path, "    repetition_penalty: {ngram_size: 2}")
    kcfg = load(path)
    assert kcfg.reward_options.repetition_penalty == RepetitionPenaltyOptions(ngram_size=2, max_penalty=-1.0)
    kcfg = load(path, **{"kindling.reward_options.repetition_penalty.max_penalty": "-0.5"})
    assert kcfg.reward_options.repetition_penalty == RepetitionPenaltyOptions(ngram_size=2, max_penalty=-0.5)
    kcfg = load(None, **{"kindling.rewards": "{soft_overlong: 1.0}",
                         "kindling.reward_options": "{soft_overlong: {soft_punish_cache: 16}}"})
    assert kcfg.reward_options.soft_overlong == SoftOverlongOptions(soft_punish_cache=16)
    dumped = config_dicts(kcfg, load_train_config("grpo", path, {})[1])["kindling"]
    assert dumped["reward_options"]["soft_overlong"] == {"max_completion_len": None, "soft_punish_cache": 16}


def test_no_options_needed_for_defaults() -> None:
    kcfg = load(None, **{"kindling.rewards": "{repetition_penalty: 1.0, guard: 1.0}"})
    assert kcfg.reward_options.repetition_penalty is None and kcfg.reward_options.soft_overlong is None


def test_unknown_parameter_names_file_key_and_nearest(tmp_path: Path) -> None:
    path = write(tmp_path, "    repetition_penalty: {ngram_sise: 2}")
    with pytest.raises(ConfigError, match=(
            r"^.*grpo\.yaml: kindling\.reward_options\.repetition_penalty\.ngram_sise: unknown key "
            r"\(did you mean kindling\.reward_options\.repetition_penalty\.ngram_size\?\)$")):
        load(path)
    with pytest.raises(ConfigError, match=(
            r"^--set kindling\.reward_options\.repetition_penalty\.ngram_sise: unknown key \(did you mean")):
        load(None, **{"kindling.rewards": "{repetition_penalty: 1.0}",
                      "kindling.reward_options.repetition_penalty.ngram_sise": "2"})


def test_unknown_reward_name_in_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"kindling\.reward_options\.repetiton_penalty: unknown key "
                                          r"\(did you mean kindling\.reward_options\.repetition_penalty\?\)"):
        load(write(tmp_path, "    repetiton_penalty: {ngram_size: 2}"))
    with pytest.raises(ConfigError, match=r"kindling\.reward_options\.guard: unknown key "
                                          r"\(known: repetition_penalty, soft_overlong\)"):
        load(write(tmp_path, "    guard: {penalty: -2}"))


def test_options_for_a_reward_not_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"grpo\.yaml: kindling\.reward_options: .*options for "
                                          r"'soft_overlong', which kindling\.rewards does not name"):
        load(write(tmp_path, "    soft_overlong: {soft_punish_cache: 8}"))


def test_soft_overlong_needs_its_cache() -> None:
    with pytest.raises(ConfigError, match=r"kindling\.reward_options: .*reward 'soft_overlong' needs "
                                          r"options: set kindling\.reward_options\.soft_overlong\.soft_punish_cache"):
        load(None, **{"kindling.rewards": "{soft_overlong: 1.0}"})
    with pytest.raises(ConfigError, match=r"kindling\.reward_options\.soft_overlong\.soft_punish_cache: Field required"):
        load(None, **{"kindling.rewards": "{soft_overlong: 1.0}", "kindling.reward_options": "{soft_overlong: {}}"})


def test_bad_option_values_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"repetition_penalty\.max_penalty: Input should be less than or equal to 0"):
        load(write(tmp_path, "    repetition_penalty: {max_penalty: 0.5}"))
    with pytest.raises(ConfigError, match=r"^--set kindling\.reward_options\.repetition_penalty\.ngram_size: .*greater"):
        load(None, **{"kindling.rewards": "{repetition_penalty: 1.0}",
                      "kindling.reward_options.repetition_penalty.ngram_size": "0"})
    with pytest.raises(ConfigError, match=r"soft_overlong: .*soft_punish_cache \(20\) must be at most max_completion_len \(10\)"):
        load(None, **{"kindling.rewards": "{soft_overlong: 1.0}",
                      "kindling.reward_options": "{soft_overlong: {soft_punish_cache: 20, max_completion_len: 10}}"})


def test_shipped_config_needs_no_options() -> None:
    kcfg, _ = load_train_config("grpo", ROOT / "configs/grpo_tiny.yaml", {})
    assert isinstance(kcfg, KindlingGRPO)
    assert kcfg.reward_options.repetition_penalty is None and kcfg.reward_options.soft_overlong is None
