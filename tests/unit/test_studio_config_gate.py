"""The studio's override rules, judged on validated configs (kindling.studio.config_gate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kindling.agents.llm.config import LLMConfig

from kindling.studio.config_gate import (
    _ABSENT,
    ENDPOINT_FIELDS,
    PATH_FIELDS,
    PRINCIPLE_FIELDS,
    ConfigGate,
    OverrideRefused,
    _dotted,
)
from kindling.studio.debug_sessions import config_models
from kindling.studio.project_configs import ConfigRefused

ENDPOINT = "llm:\n  backend: openai\n  model: m\n  base_url: http://127.0.0.1:9/v1\n  api_key_env: PROJECT_KEY\n"


@pytest.fixture
def gate(tmp_path: Path) -> ConfigGate:
    (tmp_path / "judge.yaml").write_text(ENDPOINT, encoding="utf-8")
    return ConfigGate(tmp_path, config_models())


def test_every_guarded_field_names_a_field_of_some_config_model() -> None:
    """A renamed field must not silently leave the rules (each is found in some model)."""
    models = config_models()
    for dotted in (*PRINCIPLE_FIELDS, *PATH_FIELDS):
        assert any(_dotted(_full(model), dotted) is not _ABSENT for model in models.values()), \
            dotted
    assert set(ENDPOINT_FIELDS) <= set(LLMConfig.model_fields)


def _full(model: Any) -> Any:
    """A config with every optional section set, so nested fields can be reached."""
    data = {"source": "generate", "policy": {"model": "p"}} if "policy" in model.model_fields \
        else {}
    return model.model_validate(data)


def test_overrides_that_keep_the_endpoint_pass(gate: ConfigGate) -> None:
    cfg = gate.config_for("judge", "judge.yaml", ["samples=3", "llm.base_url=http://127.0.0.1:9/v1",
                                                  "principles=12", "principles=detector_initial"])
    assert cfg.samples == 3 and cfg.llm.api_key_env == "PROJECT_KEY"


@pytest.mark.parametrize("sets", [["llm.model=other"], ["llm.api_key_env=HOME"],
                                  ["llm={backend: local}"], ["principles=/etc/hosts"],
                                  ["principles=../judge.yaml"], ["budget.prices=/etc/hosts"]])
def test_overrides_that_move_the_endpoint_or_a_path_are_refused(gate: ConfigGate,
                                                                sets: list[str]) -> None:
    with pytest.raises(OverrideRefused):
        gate.config_for("judge", "judge.yaml", sets)


def test_with_the_option_only_project_key_variables(tmp_path: Path) -> None:
    (tmp_path / "judge.yaml").write_text(ENDPOINT, encoding="utf-8")
    gate = ConfigGate(tmp_path, config_models(), allow_endpoint_overrides=True)
    moved = gate.config_for("judge", None, ["llm.backend=openai", "llm.api_key_env=PROJECT_KEY",
                                            "llm.base_url=http://127.0.0.1:8/v1"])
    assert moved.llm.base_url == "http://127.0.0.1:8/v1"
    with pytest.raises(OverrideRefused, match="HOME"):
        gate.config_for("judge", "judge.yaml", ["llm.api_key_env=HOME"])
    with pytest.raises(OverrideRefused, match="retrieval.embedding_model"):  # never, option or not
        gate.config_for("curate", None, ["retrieval.embedding_model=curate_only"])


def test_names_are_looked_up_never_opened(gate: ConfigGate, tmp_path: Path) -> None:
    for name in ("judge.yaml/", "./judge.yaml", str(tmp_path / "judge.yaml"), "../judge.yaml"):
        with pytest.raises(ConfigRefused, match="not one of the project's configs"):
            gate.config_for("judge", name, [])


def test_a_task_moves_only_to_a_built_in_one(gate: ConfigGate, tmp_path: Path) -> None:
    """A task folder is read from disk: from the browser only a built-in task's name is taken,
    and a folder is refused before anything in it is read."""
    elsewhere = tmp_path.parent / "elsewhere_task"
    elsewhere.mkdir(exist_ok=True)
    (elsewhere / "task.yaml").write_text("secret_field: 1\n", encoding="utf-8")
    assert gate.config_for("judge", "judge.yaml", ["task=slogans-en"]).task == "slogans-en"
    for value in (str(elsewhere), "../elsewhere_task", "./tasks/mine"):
        with pytest.raises(OverrideRefused, match="only to a built-in task") as refused:
            gate.config_for("judge", "judge.yaml", [f"task={value}"])
        assert "secret_field" not in str(refused.value) and value not in str(refused.value)


def test_paths_resolve_as_the_cli_resolves_them(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A project config's relative paths resolve against its own folder, as `kindling graph
    step -c FILE` reads them, never against the studio's working folder."""
    from kindling.agents.config import load_config
    from kindling.agents.judge.config import JudgeConfig

    project = tmp_path.resolve()
    (project / "configs").mkdir()
    path = project / "configs" / "judge_rules.yaml"
    path.write_text("principles: ../rules/mine.yaml\nbudget:\n  prices: prices.yaml\n",
                    encoding="utf-8")
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the studio started from another folder
    gate = ConfigGate(project, config_models())
    cfg = gate.config_for("judge", "configs/judge_rules.yaml", ["samples=2"])
    assert cfg.principles == str(project / "rules" / "mine.yaml")
    assert cfg.budget.prices == str(project / "configs" / "prices.yaml")
    assert cfg == load_config(JudgeConfig, path, {"samples": 2})
    assert gate.config_file("configs/judge_rules.yaml") == path
