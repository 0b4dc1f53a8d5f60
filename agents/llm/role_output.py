"""The base of every agent role's structured answer, and the response_format sent for it."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict


class RoleOutput(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


@cache
def response_format(role: str, schema: type[BaseModel]) -> dict[str, object]:
    """The OpenAI `response_format` for a role: JSON schema mode, named after the role (cached)."""
    return {
        "type": "json_schema",
        "json_schema": {"name": role, "schema": schema.model_json_schema(), "strict": False},
    }
