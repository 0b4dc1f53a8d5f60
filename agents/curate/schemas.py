"""Pydantic schemas of Path A's roles: generator, advocate and critic, judge, reflector (the JSON schema sent to the model)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, StringConstraints

from agents.llm.role_output import RoleOutput

Point = Annotated[str, StringConstraints(max_length=300)]
"""One debate point: a sentence, not an essay (every field of every schema is bounded)."""


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
