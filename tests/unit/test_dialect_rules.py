"""Which refusals are structural, and what each structured-output mode sends."""

import httpx
import openai
import pytest
from kindling.agents.llm.caller import is_transient
from kindling.agents.llm.dialects import (
    AUTO_ORDER,
    answer_text,
    is_structural,
    next_mode,
    refuses_format,
    request_fields,
)

from tests.standin.dialects import LLAMACPP_VALIDATION


def status_error(status: int, message: str) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response = httpx.Response(status, request=request)
    return openai.APIStatusError(message, response=response,
                                 body={"error": {"message": message}})


@pytest.mark.parametrize(("status", "message", "structural", "transient", "format_"), [
    (400, "This response_format type is unavailable now", True, False, True),
    (404, "model not found", True, False, False),
    (422, "unprocessable entity", True, False, False),
    (500, LLAMACPP_VALIDATION, True, False, True),
    (500, "Internal server error", False, True, False),
    (503, "overloaded", False, True, False),
    (429, "rate limit", False, True, False),
    (401, "Incorrect API key", False, False, False),
])
def test_refusals_are_classified(status: int, message: str, structural: bool, transient: bool,
                                 format_: bool) -> None:
    exc = status_error(status, message)
    assert is_structural(exc) is structural
    assert is_transient(exc) is transient
    assert refuses_format(exc) is format_


def test_modes_send_what_each_server_takes() -> None:
    schema = {"type": "object"}
    assert request_fields("json_schema", "judge", schema)["response_format"]["type"] == \
        "json_schema"
    assert request_fields("json_object_schema", "judge", schema) == {
        "response_format": {"type": "json_object", "schema": schema}}
    assert request_fields("json_object", "judge", schema) == {
        "response_format": {"type": "json_object"}}
    tools = request_fields("tools", "judge", schema)
    assert tools["tool_choice"]["function"]["name"] == "judge"
    assert request_fields("prompt", "judge", schema) == {}
    with pytest.raises(ValueError, match="unknown structured_output mode"):
        request_fields("xml", "judge", schema)


def test_auto_steps_down_and_ends() -> None:
    walked, mode = [AUTO_ORDER[0]], AUTO_ORDER[0]
    while (mode := next_mode(mode)) is not None:
        walked.append(mode)
    assert tuple(walked) == AUTO_ORDER and next_mode("tools") is None


def test_a_tool_call_is_the_answer() -> None:
    assert answer_text(None, [{"args": {"verdict": 1}}]) == '{"verdict": 1}'
    assert answer_text("text", []) == "text"


def test_every_template_says_json() -> None:
    """DeepSeek's JSON mode refuses a prompt without the word "json"."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "prompts"
    prompts = [p for p in root.rglob("*.jinja") if "fragments" not in p.parts]
    assert len(prompts) >= 10
    for path in prompts:
        assert "json" in path.read_text(encoding="utf-8").lower(), path


def test_fragments_are_lines_inside_a_prompt_that_says_json() -> None:
    """Fragments (Path B's feedback lines) are not sent alone: they fill a slot of a prompt."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "prompts"
    fragments = list((root / "adversarial" / "fragments").glob("*.jinja"))
    assert fragments
    for path in fragments:
        assert "{%" not in path.read_text(encoding="utf-8") and "\n" not in path.read_text(
            encoding="utf-8").strip(), path
