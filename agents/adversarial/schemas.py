"""Structured answers of Path B's roles: Generator, Optimizer, Reflector (the Detector's is DetectorVerdict)."""

from __future__ import annotations

from typing import Annotated

from kindling.store.principle_io import MAX_RULE_CHARS, MAX_RULES
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Rule = Annotated[str, StringConstraints(min_length=1, max_length=MAX_RULE_CHARS)]
Flaw = Annotated[str, StringConstraints(max_length=200)]


class FlawedGreeting(BaseModel):
    """Generator: a plausible-but-flawed greeting and the flaws it planted."""

    model_config = ConfigDict(extra="ignore")
    text: str = Field(min_length=1, max_length=400)
    flaws: list[Flaw] = Field(default_factory=list, max_length=6)


class RuleSet(BaseModel):
    """Optimizer: a rewritten rule set (strategies S_G or principles S_D), at most 10 rules."""

    model_config = ConfigDict(extra="ignore")
    rules: list[Rule] = Field(min_length=1, max_length=MAX_RULES)


class ErrorReflection(BaseModel):
    """Reflector: why the Detector was wrong on a labelled example, and a change to S_D."""

    model_config = ConfigDict(extra="ignore")
    explanation: str = Field(max_length=400)
    suggestion: str = Field(min_length=1, max_length=400)
