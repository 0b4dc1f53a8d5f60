"""Cached input tokens read from an answer: langchain-openai's input_token_details (OpenAI's
prompt_tokens_details.cached_tokens), DeepSeek's prompt_cache_hit_tokens in the raw usage, or
none (not recorded, never 0)."""

from __future__ import annotations

from kindling.agents.llm.usage import cached_tokens, usage_columns
from langchain_core.messages import AIMessage


def _message(details: dict | None = None, raw: dict | None = None) -> AIMessage:
    usage = {"input_tokens": 100, "output_tokens": 7, "total_tokens": 107}
    if details is not None:
        usage["input_token_details"] = details
    return AIMessage(content="{}", usage_metadata=usage,  # type: ignore[arg-type]
                     response_metadata={"token_usage": raw} if raw is not None else {})


def test_openais_cache_read() -> None:
    assert cached_tokens(_message({"cache_read": 64})) == 64
    assert cached_tokens(_message({"cache_read": 0})) == 0


def test_deepseeks_cache_hits() -> None:
    raw = {"prompt_tokens": 100, "prompt_cache_hit_tokens": 80, "prompt_cache_miss_tokens": 20}
    assert cached_tokens(_message(raw=raw)) == 80


def test_no_cache_field_is_not_recorded() -> None:
    assert cached_tokens(_message(raw={"prompt_tokens": 100})) is None
    assert cached_tokens(_message(raw={"prompt_cache_hit_tokens": "80"})) is None
    assert usage_columns(_message({"cache_read": 3})) == {
        "prompt_tokens": 100, "cached_tokens": 3, "completion_tokens": 7}
    assert usage_columns(None) == {"prompt_tokens": None, "cached_tokens": None,
                                   "completion_tokens": None}
