"""How the stand-in imitates real servers' request handling (`StandinConfig.dialect`).

Each profile follows the server's documentation and observed answers:
- `openai` (also vLLM, SGLang, Ollama): takes `json_schema`, `json_object`, tools and plain prompts.
- `deepseek`: DeepSeek's documented JSON mode only: a `json_schema` request is a 400 ("This
  response_format type is unavailable now"); `json_object` needs the word "json" in the prompt
  (else a 400); extra keys of `response_format` are ignored. `StandinConfig.blank` answers blank
  content at that rate (DeepSeek's JSON mode "may return empty content"); `reasoning` adds
  `reasoning_content` as its reasoning model does, and `reasoning_only` spends the whole budget on
  thinking at that rate (empty content, finish_reason "length").
- `llamacpp`: llama-cpp-python's server: `json_schema` is a 500 whose body is a FastAPI request-
  validation error ("Input should be 'text' or 'json_object'"); `json_object` with or without a
  `schema` key is taken.
"""

from __future__ import annotations

from typing import Any

DIALECTS = ("openai", "deepseek", "llamacpp")
LLAMACPP_VALIDATION = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'),"
    " 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', 'ctx': "
    "{'expected': \"'text' or 'json_object'\"}}")


def refusal(dialect: str, body: dict[str, Any]) -> tuple[int, str, str] | None:
    """(status, message, error type) when the dialect refuses this request's format, else None."""
    fmt = body.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if dialect == "deepseek":
        if kind == "json_schema":
            return 400, "This response_format type is unavailable now", "invalid_request_error"
        if kind == "json_object" and "json" not in prompt_text(body).lower():
            return 400, ("Prompt must contain the word 'json' in some form to use "
                         "'response_format' of type 'json_object'."), "invalid_request_error"
    if dialect == "llamacpp" and kind == "json_schema":
        return 500, LLAMACPP_VALIDATION, "internal_server_error"
    return None


def prompt_text(body: dict[str, Any]) -> str:
    return " ".join(str(m.get("content") or "") for m in body.get("messages") or [])
