"""The Detector's structured answer: the principle-guided judge of Path B and of GRPO's judge reward."""

from __future__ import annotations

from typing import Any, Literal

from kindling.agents.llm.role_output import RoleOutput
from pydantic import AliasChoices, Field, field_validator


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
