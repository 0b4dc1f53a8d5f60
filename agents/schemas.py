"""Pydantic schemas of each agent role's structured answer (the JSON schema sent to the model)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, field_validator

Point = Annotated[str, StringConstraints(max_length=300)]
"""One debate point: a sentence, not an essay (every field of every schema is bounded)."""


class RoleOutput(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Candidate(RoleOutput):
    """Generator: one greeting for the query."""

    text: str = Field(min_length=1, max_length=400, description="The greeting, nothing else.")


class DebatePoints(RoleOutput):
    """Advocate (strengths) or critic (weaknesses) of a greeting."""

    points: list[Point] = Field(max_length=6, description="One point per entry, concrete and short.")


class JudgeVerdict(RoleOutput):
    """Judge: strict 0/1 verdict with a short reason."""

    verdict: Literal[0, 1] = Field(validation_alias=AliasChoices("verdict", "judge"))
    reason: str = Field(max_length=400)


class ReflectVerdict(RoleOutput):
    """Reflector: final verdict; overturns the judge only with a clear reason."""

    verdict: Literal[0, 1] = Field(validation_alias=AliasChoices("verdict", "judge"))
    reason: str = Field(max_length=400)
    overturned: bool = False


class DetectorVerdict(RoleOutput):
    """Path B's Detector (the principle-guided judge): Good/Bad, why, and how to improve."""

    verdict: Literal["Good", "Bad"] = Field(
        validation_alias=AliasChoices("verdict", "judge"),
        description="Good if the response satisfies every principle, else Bad.")
    explanation: str = Field(max_length=800, description="Why, citing the principles.")
    suggestion: str | None = Field(
        None, max_length=800, description="When Bad: how the writer could improve the response.")

    @field_validator("verdict", mode="before")
    @classmethod
    def _normalize_verdict(cls, value: Any) -> Any:
        """Accept the usual spellings a model writes: good/BAD, 1/0, 好/不好."""
        key = str(value).strip().strip("\"'").lower()
        if key in {"good", "1", "好", "true", "yes"}:
            return "Good"
        if key in {"bad", "0", "不好", "差", "false", "no"}:
            return "Bad"
        return value

    @field_validator("explanation", "suggestion", mode="before")
    @classmethod
    def _truncate(cls, value: Any) -> Any:
        """A long explanation is cut, not re-asked: its verdict is what counts."""
        return value[:800] if isinstance(value, str) else value


@cache
def response_format(role: str, schema: type[BaseModel]) -> dict[str, object]:
    """The OpenAI `response_format` for a role: JSON schema mode, named after the role (cached)."""
    return {
        "type": "json_schema",
        "json_schema": {"name": role, "schema": schema.model_json_schema(), "strict": False},
    }
