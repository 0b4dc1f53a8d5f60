"""Pydantic schemas of Path A's roles: generator, advocate and critic, judge, reflector (the JSON schema sent to the model)."""

from __future__ import annotations

from typing import Annotated, Literal

from kindling.agents.llm.role_output import RoleOutput
from pydantic import AliasChoices, BaseModel, Field, StringConstraints, model_validator

Point = Annotated[str, StringConstraints(max_length=300)]
"""One debate point: a sentence, not an essay (every field of every schema is bounded)."""


class Candidate(RoleOutput):
    """Generator: one greeting for the query."""

    text: str = Field(min_length=1, max_length=400, description="The greeting, nothing else.")


class DebatePoints(RoleOutput):
    """Advocate (strengths) or critic (weaknesses) of a greeting."""

    points: list[Point] = Field(max_length=6, description="One point per entry, concrete and short.")


POINT_SEPARATORS = {"zh": "\uff1a"}
"""Between a finding's point and its reason, by the prompts' language (a full-width colon in
Chinese; ": " in any other language)."""


class PointReason(BaseModel):
    """One finding of the paper's debaters: what (a dimension) and why, in a sentence."""

    point: Point
    reason: Point = ""


class DebateAnalysis(RoleOutput):
    """Advocate or critic under the paper's prompts: one {point, reason} per finding. The seed's
    own shape, a flat {point: reason} object, and a list of plain strings are read as well."""

    points: list[PointReason] = Field(max_length=9, description="One finding per entry.")

    @model_validator(mode="before")
    @classmethod
    def _seed_shapes(cls, data: object) -> object:
        if isinstance(data, dict) and "points" not in data:
            return {"points": [{"point": k, "reason": str(v)} for k, v in data.items()]}
        if isinstance(data, dict) and isinstance(data.get("points"), list):
            return {**data, "points": [{"point": p} if isinstance(p, str) else p
                                       for p in data["points"]]}
        return data

    def lines(self, language: str = "zh") -> list[str]:
        """Each finding as one line, "point：reason" in Chinese, "point: reason" in any other
        language (what the judge reads)."""
        sep = POINT_SEPARATORS.get(language, ": ")
        out = [f"{p.point.strip()}{sep}{p.reason.strip()}" if p.reason.strip() else p.point.strip()
               for p in self.points]
        return [line for line in out if line]


class JudgeVerdict(RoleOutput):
    """Judge: strict 0/1 verdict with a short reason."""

    verdict: Literal[0, 1] = Field(validation_alias=AliasChoices("verdict", "judge"))
    reason: str = Field(max_length=400)


class ReflectVerdict(RoleOutput):
    """Reflector: final verdict; overturns the judge only with a clear reason."""

    verdict: Literal[0, 1] = Field(validation_alias=AliasChoices("verdict", "judge"))
    reason: str = Field(max_length=400)
    overturned: bool = False
