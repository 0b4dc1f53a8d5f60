from pathlib import Path

import pytest
from kindling.agents.config import ConfigError, load_config, parse_sets
from kindling.agents.curate.config import CurateConfig
from typer.testing import CliRunner

from kindling.cli import app


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_then_flags_then_sets(tmp_path: Path) -> None:
    path = write(tmp_path, "limit: 5\nllm:\n  backend: openai\n  model: m1\n  max_retries: 2\n")
    cfg = load_config(CurateConfig, path, {"limit": 7, "llm.model": None,
                                           **parse_sets(["llm.max_retries=6", "offset=3"])})
    assert (cfg.limit, cfg.offset) == (7, 3)
    assert (cfg.llm.backend, cfg.llm.model, cfg.llm.max_retries) == ("openai", "m1", 6)


def test_defaults_without_a_file() -> None:
    cfg = load_config(CurateConfig, None, {})
    assert cfg.source == "dataset" and cfg.llm.backend == "local" and cfg.retrieval.k == 3


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("limitt: 5\n", "field limitt: unknown key (did you mean limit?)"),
        ("llm:\n  temprature: 0.1\n", "field llm.temprature"),
        ("llm:\n  max_retries: -1\n", "field llm.max_retries"),
        ("source: files\n", "field source"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("limit: [\n", "not valid YAML"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(CurateConfig, path, {})
    assert str(path) in str(info.value) and needle in str(info.value)


def test_bad_set_syntax() -> None:
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_sets(["llm.model"])


def test_cli_reports_config_errors_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  nope: 1\n")
    result = CliRunner().invoke(app, ["--db-url", f"sqlite:///{tmp_path / 'x.db'}", "curate",
                                      "--config", str(path)])
    assert result.exit_code == 2 and "llm.nope" in result.output


def test_cli_curate_without_data_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--db-url", f"sqlite:///{tmp_path / 'x.db'}", "curate"])
    assert result.exit_code == 2 and "kindling data import" in result.output


def test_a_set_typo_is_reported_against_the_flag_with_a_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  model: m1\n")
    with pytest.raises(ConfigError) as err:
        load_config(CurateConfig, path, parse_sets(["llm.modle=x"]))
    assert str(err.value) == "--set llm.modle: unknown key (did you mean llm.model?)"
    with pytest.raises(ConfigError) as err:
        load_config(CurateConfig, path, parse_sets(["llm.max_retries=-1"]))
    assert str(err.value).startswith("--set llm.max_retries: ")
    assert str(path) not in str(err.value)


def test_a_yaml_typo_is_reported_against_the_file_with_a_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "retrieval:\n  kk: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(CurateConfig, path, {})
    assert str(err.value) == (f"{path}: field retrieval.kk: unknown key "
                              "(did you mean retrieval.k?)")


def test_the_old_agents_section_is_named_as_renamed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="field agents: the section is now called llm"):
        load_config(CurateConfig, write(tmp_path, "agents:\n  model: m\n"), {})
    with pytest.raises(ConfigError, match=r"^--set agents.model: the section is now called llm"):
        load_config(CurateConfig, None, {"agents.model": "m"})
