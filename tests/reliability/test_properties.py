"""Property-based inputs (hypothesis) for the importers and parsers: whatever the bytes, the
answer is a value or the module's own error with a message, never another exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kindling.agents.adversarial.schemas import ErrorReflection, FlawedGreeting, RuleSet
from kindling.agents.config import ConfigError, load_config, parse_sets
from kindling.agents.curate.config import CurateConfig
from kindling.agents.curate.schemas import DebatePoints, JudgeVerdict, ReflectVerdict
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.schemas import DetectorVerdict
from kindling.agents.llm.parsing import OutputParseError, parse_output
from kindling.ingest.readers import (
    DataImportError,
    read_evaluation,
    read_lines,
    read_reward,
    read_sft,
)
from kindling.store.principle_io import PrincipleFormatError, from_yaml_text

from kindling.services.judge import InputError, read_items_file

pytestmark = pytest.mark.reliability
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
SCHEMAS = [DebatePoints, JudgeVerdict, ReflectVerdict, DetectorVerdict, FlawedGreeting, RuleSet,
           ErrorReflection]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=20)
near_json = st.one_of(st.text(max_size=300), json_values.map(json.dumps),
                      json_values.map(lambda v: "```json\n" + json.dumps(v)[:-1]),
                      json_values.map(lambda v: "好的：" + json.dumps(v, ensure_ascii=False)))


def _file(data: bytes, suffix: str) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)
    handle.write(data)
    handle.close()
    return Path(handle.name)


@SETTINGS
@given(raw=near_json, schema=st.sampled_from(SCHEMAS))
def test_model_output_parses_or_is_a_parse_error(raw: str, schema: type) -> None:
    try:
        parsed = parse_output(raw, schema)
    except OutputParseError as exc:
        assert str(exc)
        return
    assert isinstance(parsed, schema)


@SETTINGS
@given(data=st.one_of(st.binary(max_size=400), st.lists(json_values, max_size=6).map(
    lambda rows: "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode())))
def test_items_file_reads_or_names_the_line(data: bytes) -> None:
    path = _file(data, ".jsonl")
    try:
        items = read_items_file(path)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    finally:
        path.unlink()
    assert items and all(q.strip() and r.strip() for q, r in items)


@SETTINGS
@given(text=st.one_of(st.text(max_size=300), json_values.map(json.dumps),
                      st.builds(lambda kind, rules: json.dumps({"kind": kind, "rules": rules}),
                                st.sampled_from(["detector", "debate_judge", "judge", "x"]),
                                st.lists(st.text(max_size=30), max_size=12))))
def test_principle_yaml_is_a_set_or_a_format_error(text: str) -> None:
    try:
        draft = from_yaml_text(text, "p.yaml", default_name="p")
    except PrincipleFormatError as exc:
        assert str(exc).startswith("p.yaml")
        return
    assert 1 <= len(draft.rules) <= 10 and all(0 < len(r) <= 300 for r in draft.rules)


@SETTINGS
@given(data=json_values, model=st.sampled_from([CurateConfig, JudgeConfig]))
def test_config_validates_or_names_the_field(data: object, model: type) -> None:
    path = _file(json.dumps(data).encode(), ".yaml")
    try:
        cfg = load_config(model, path, {})
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    finally:
        path.unlink()
    assert isinstance(cfg, model)


@SETTINGS
@given(pairs=st.lists(st.text(max_size=30), max_size=4))
def test_set_flags_parse_or_say_why(pairs: list[str]) -> None:
    try:
        parse_sets(pairs)
    except ConfigError as exc:
        assert str(exc).startswith("--set")


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300), json_values.map(
    lambda v: json.dumps(v, ensure_ascii=False).encode())),
       reader=st.sampled_from([read_sft, read_reward, read_evaluation, read_lines]))
def test_paper_files_import_or_name_the_place(data: bytes, reader) -> None:
    path = _file(data, ".json")
    try:
        items = reader(path, "dataset")
    except DataImportError as exc:
        assert str(path) in str(exc)
        return
    finally:
        path.unlink()
    assert isinstance(items, list)
