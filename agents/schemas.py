"""Pydantic schemas of each agent role's structured answer (the JSON schema sent to the model)."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class RoleOutput(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Candidate(RoleOutput):
    """Generator: one greeting for the query."""

    text: str = Field(min_length=1, max_length=400, description="The greeting, nothing else.")


class DebatePoints(RoleOutput):
    """Advocate (strengths) or critic (weaknesses) of a greeting."""

    points: list[str] = Field(max_length=6, description="One point per entry, concrete and short.")


class JudgeVerdict(RoleOutput):
    """Judge: strict 0/1 verdict with a short reason."""

    verdict: Literal[0, 1] = Field(validation_alias=AliasChoices("verdict", "judge"))
    reason: str = Field(max_length=400)


class ReflectVerdict(RoleOutput):
    """Reflector: final verdict; overturns the judge only with a clear reason."""

    verdict: Literal[0, 1] = Field(validation_alias=AliasChoices("verdict", "judge"))
    reason: str = Field(max_length=400)
    overturned: bool = False


@cache
def response_format(role: str, schema: type[BaseModel]) -> dict[str, object]:
    """The OpenAI `response_format` for a role: JSON schema mode, named after the role (cached)."""
    return {
        "type": "json_schema",
        "json_schema": {"name": role, "schema": schema.model_json_schema(), "strict": False},
    }
