"""Structured output as real servers take it, and which refusals are the request's fault.

Servers differ in how they accept a JSON answer's shape (a per-backend setting, `structured_output`):
- `json_schema`: `response_format: {"type": "json_schema", "json_schema": {...}}` (OpenAI, vLLM,
  SGLang, Ollama);
- `json_object_schema`: `{"type": "json_object", "schema": {...}}` (llama-cpp-python's server, which
  answers `json_schema` with a 500 request-validation error);
- `json_object`: `{"type": "json_object"}`, JSON mode without a schema (DeepSeek, which refuses
  `json_schema` with a 400 and needs the word "json" in the prompt; every template has it);
- `tools`: one forced function call whose parameters are the schema;
- `prompt`: nothing but the prompt's own instructions, parsed tolerantly.
`auto` starts at `json_schema` and steps down `AUTO_ORDER` when the endpoint refuses the format.

A structural error (400/404/405/415/422, or a 5xx whose body is a request-validation error) is
the request's fault: retrying it cannot help, so it is never retried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import openai

MODES = ("json_schema", "json_object_schema", "json_object", "tools", "prompt")
AUTO_ORDER = ("json_schema", "json_object_schema", "json_object", "prompt")
STRUCTURAL_STATUS = frozenset({400, 404, 405, 415, 422})
VALIDATION_MARKERS = ("validation error", "RequestValidationError", "literal_error",
                      "Input should be", "unprocessable", "invalid_request_error")
FORMAT_MARKERS = ("response_format", "json_schema", "json_object", "schema", "tool")


def request_fields(mode: str, role: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The request body fields that ask for `schema` in `mode` (sent as `extra_body`)."""
    if mode == "json_schema":
        return {"response_format": {"type": "json_schema", "json_schema": {
            "name": role, "schema": schema, "strict": False}}}
    if mode == "json_object_schema":
        return {"response_format": {"type": "json_object", "schema": schema}}
    if mode == "json_object":
        return {"response_format": {"type": "json_object"}}
    if mode == "tools":
        function = {"name": role, "description": f"Give the {role} answer.", "parameters": schema}
        return {"tools": [{"type": "function", "function": function}],
                "tool_choice": {"type": "function", "function": {"name": role}}}
    if mode == "prompt":
        return {}
    raise ValueError(f"unknown structured_output mode {mode!r} (one of {', '.join(MODES)})")


def error_text(exc: BaseException) -> str:
    """The server's own words: the error body's message, else the exception's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else None
        if message:
            return str(message)
        return json.dumps(body, ensure_ascii=False)
    return str(exc)


def is_structural(exc: BaseException) -> bool:
    """Whether the endpoint refused the request itself (never worth a retry)."""
    if not isinstance(exc, openai.APIStatusError):
        return False
    if exc.status_code in STRUCTURAL_STATUS:
        return True
    text = error_text(exc)
    return exc.status_code >= 500 and any(m in text for m in VALIDATION_MARKERS)


def refuses_format(exc: BaseException) -> bool:
    """A structural refusal that names the structured-output fields (so another mode may work)."""
    text = error_text(exc).lower()
    return is_structural(exc) and any(m in text for m in FORMAT_MARKERS)


def next_mode(mode: str) -> str | None:
    """The mode `auto` tries after `mode` is refused, or None at the end of `AUTO_ORDER`."""
    if mode not in AUTO_ORDER:
        return None
    position = AUTO_ORDER.index(mode)
    return AUTO_ORDER[position + 1] if position + 1 < len(AUTO_ORDER) else None


def answer_text(content: Any, tool_calls: Sequence[Mapping[str, Any]] | None) -> str:
    """The answer as text: a forced tool call's arguments as JSON, else the message content."""
    if tool_calls:
        return json.dumps(tool_calls[0].get("args") or {}, ensure_ascii=False)
    return content if isinstance(content, str) else str(content or "")
