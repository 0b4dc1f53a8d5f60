"""Token counts of one answer, as the store keeps them: input (cache hits included), the part of
the input served from the provider's cache, and output.

langchain-openai puts OpenAI's `usage.prompt_tokens_details.cached_tokens` in
`usage_metadata["input_token_details"]["cache_read"]`; DeepSeek reports its cache hits as
`usage.prompt_cache_hit_tokens`, which langchain-openai leaves in the raw usage
(`response_metadata["token_usage"]`). A count no field reports is None (not recorded), never 0.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def cached_tokens(message: AIMessage) -> int | None:
    """The prompt tokens the provider served from its cache, or None when it did not say."""
    usage: dict[str, Any] = dict(message.usage_metadata or {})
    details: dict[str, Any] = dict(usage.get("input_token_details") or {})
    found = _count(details.get("cache_read"))
    if found is not None:
        return found
    raw = message.response_metadata.get("token_usage")
    if isinstance(raw, dict):
        found = _count(raw.get("prompt_cache_hit_tokens"))
        if found is None:
            found = _count((raw.get("prompt_tokens_details") or {}).get("cached_tokens"))
    return found


def usage_columns(message: AIMessage | None) -> dict[str, int | None]:
    """`prompt_tokens`, `cached_tokens`, `completion_tokens` of an `agent_calls` row."""
    if message is None:
        return {"prompt_tokens": None, "cached_tokens": None, "completion_tokens": None}
    usage: dict[str, Any] = dict(message.usage_metadata or {})
    return {"prompt_tokens": usage.get("input_tokens"), "cached_tokens": cached_tokens(message),
            "completion_tokens": usage.get("output_tokens")}
