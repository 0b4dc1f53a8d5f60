"""Training run configs: YAML sections, CLI overrides win, unknown or bad keys named with the file."""

from pathlib import Path

import pytest
from kindling.rl.train_config import (
    ConfigError,
    KindlingSFT,
    LoraSpec,
    config_dicts,
    load_train_config,
)

YAML = """\
kindling:
  model: models/tiny
  limit: 10
trl:
  output_dir: {out}
  learning_rate: 5.0e-4
  max_steps: 7
  bf16: false
  use_cpu: true
  report_to: none
"""


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    path = tmp_path / "sft.yaml"
    path.write_text(YAML.format(out=tmp_path / "out"), encoding="utf-8")
    return path


def test_yaml_then_overrides_win(cfg_file: Path) -> None:
    kcfg, trl_cfg = load_train_config("sft", cfg_file, {
        "trl.learning_rate": "1e-4", "kindling.limit": "100", "kindling.lora.r": "4"})
    assert isinstance(kcfg, KindlingSFT)
    assert kcfg.model == "models/tiny" and kcfg.limit == 100 and kcfg.dataset == "sft"
    assert kcfg.lora == LoraSpec(r=4)
    assert type(trl_cfg).__name__ == "SFTConfig"
    assert trl_cfg.learning_rate == 1e-4 and trl_cfg.max_steps == 7 and trl_cfg.report_to == []
    dicts = config_dicts(kcfg, trl_cfg)
    assert dicts["kindling"]["limit"] == 100 and dicts["trl"]["max_steps"] == 7


def test_unknown_kindling_key_names_file_and_key(cfg_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--set kindling\.modle: unknown key \(did you mean kindling\.model\?\)"):
        load_train_config("sft", cfg_file, {"kindling.modle": "x"})


def test_unknown_trl_key_names_file_and_key(cfg_file: Path) -> None:
    cfg_file.write_text(cfg_file.read_text(encoding="utf-8") + "  lerning_rate: 0.1\n",
                        encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sft\.yaml: trl\.lerning_rate: not a field of TRL's SFTConfig"):
        load_train_config("sft", cfg_file, {})


def test_bad_trl_values_name_the_key(cfg_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--set trl\.max_steps: .*integer"):
        load_train_config("sft", cfg_file, {"trl.max_steps": "many"})
    with pytest.raises(ConfigError, match=r"^--set trl\.lr_scheduler_type: .*SchedulerType"):
        load_train_config("sft", cfg_file, {"trl.lr_scheduler_type": "nope"})


def test_unknown_section_and_bad_override(cfg_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kindling: {model: m}\nmodel: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: unknown section 'model'"):
        load_train_config("sft", bad, {})
    with pytest.raises(ConfigError, match="expected kindling.<field> or trl.<field>"):
        load_train_config("sft", cfg_file, {"limit": "3"})
    with pytest.raises(ConfigError, match=r"kindling\.model: Field required"):
        load_train_config("sft", None, {"trl.bf16": "false", "trl.use_cpu": "true"})


def test_shipped_config_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kindling.configs import shipped_configs

    monkeypatch.chdir(tmp_path)  # a shipped config resolves as if in ./configs of this folder
    kcfg, trl_cfg = load_train_config("sft", shipped_configs() / "sft_tiny.yaml", {})
    assert isinstance(kcfg, KindlingSFT) and kcfg.model == str(tmp_path / "models" / "tiny")
    assert trl_cfg.output_dir == str(tmp_path / "runs" / "sft_tiny")
    assert trl_cfg.bf16 is False and trl_cfg.report_to == []


def test_yaml11_boolean_words_stay_strings_on_the_command_line(cfg_file: Path) -> None:
    _k, trl_cfg = load_train_config("sft", cfg_file, {"trl.save_strategy": "no",
                                                      "trl.bf16": "false"})
    assert str(trl_cfg.save_strategy.value) == "no" and trl_cfg.bf16 is False


def test_cli_set_keeps_no_a_word() -> None:
    from kindling.agents.config import parse_sets

    assert parse_sets(["trl.save_strategy=no", "a=0.5", "b=true", "c=null"]) == {
        "trl.save_strategy": "no", "a": 0.5, "b": True, "c": None}


def test_train_set_typos_name_the_flag_and_the_nearest_field() -> None:
    with pytest.raises(ConfigError) as err:
        load_train_config("sft", None, {"kindling.model": "m", "trl.learning_rat": 1e-4})
    assert str(err.value).startswith("--set trl.learning_rat: not a field of TRL's SFTConfig "
                                     "(did you mean trl.learning_rate?)")
    with pytest.raises(ConfigError) as err:
        load_train_config("sft", None, {"kindling.model": "m", "kindling.limt": 3})
    assert str(err.value) == "--set kindling.limt: unknown key (did you mean kindling.limit?)"
