"""The API key an endpoint needs, read from the environment variable a config or flag names."""

from __future__ import annotations

import os

from kindling.agents.llm.errors import LLMConfigError


def require_api_key(env_name: str, field: str,
                    error: type[Exception] = LLMConfigError) -> str:
    """The value of `env_name`, which must be set and non-empty.

    Args:
        env_name: The environment variable holding the key.
        field: The config field or flag that named the variable (quoted in the message).
        error: The exception to raise when the variable is unset or empty.

    Returns:
        The key.

    Raises:
        error: the variable is not set, or empty.
    """
    key = os.environ.get(env_name)
    if not key:
        raise error(f"environment variable {env_name} ({field}) is not set; set it to your API "
                    "key (any non-empty value for servers without auth)")
    return key
