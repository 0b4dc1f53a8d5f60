"""The fields of a task's `task.yaml`: what is written and how it is judged (docs/tasks.md).

Strict models (unknown keys are errors); the templates see a task's fields as `task`
(`{{ task.writing.noun }}`, `{% for d in task.critic.dimensions %}`).
"""

from __future__ import annotations

from typing import Literal

from kindling.agents.config import Strict
from pydantic import AliasChoices, Field


class Writing(Strict):
    """What is written, for whom, and what the request field means."""

    noun: str = Field(..., min_length=1, max_length=40, description="What one text is called in the prompts (a greeting).")
    measure: str | None = Field(None, max_length=4, description="The measure word a Chinese template counts one text with (tiao in yi tiao zhufuyu); null in languages without them.")
    audience: str = Field(..., min_length=1, max_length=2000, description="For whom the texts are written.")
    request: str = Field(..., min_length=1, max_length=2000, description="What the request (the query field) says, as the judge's prompt explains it.")


class Generation(Strict):
    """The instruction to the writer of candidates (Path A's generator)."""

    persona: str = Field(..., min_length=1, max_length=2000, description="The writer's role line.")
    requirements: list[str] = Field(..., min_length=1, max_length=12, description="What a good text must do, one requirement a line.")


class Dimension(Strict):
    name: str = Field(..., min_length=1, max_length=200, description="A dimension's name.")
    description: str = Field(..., min_length=1, max_length=2000, description="What to look for along it.")


class Finding(Strict):
    point: str = Field(..., min_length=1, max_length=200, description="A finding's name.")
    reason: str = Field(..., min_length=1, max_length=2000, description="Why, citing the text.")


class DebaterExample(Strict):
    """A worked example: one request, one text, and the findings the debater should list."""

    query: str = Field(..., min_length=1, max_length=2000, description="The example's request.")
    response: str = Field(..., min_length=1, max_length=2000, description="The example's text.")
    points: list[Finding] = Field(..., min_length=1, max_length=12, description="The findings the debater answers with.")


class Debater(Strict):
    """What the advocate (strengths) or the critic (weaknesses) looks for."""

    in_brief: list[str] = Field(..., min_length=1, max_length=12, description="The dimensions in a few words each (Kindling's prompt set lists these).")
    dimensions: list[Dimension] = Field(..., min_length=1, max_length=10, description="The dimensions, each with a description (the paper's prompt set lists these).")
    example: DebaterExample = Field(..., description="A short worked example (the paper's prompt set).")


class JudgeExample(Strict):
    """A worked example of weighing the two analyses."""

    query: str = Field(..., min_length=1, max_length=2000, description="The example's request.")
    response: str = Field(..., min_length=1, max_length=2000, description="The example's text.")
    pros: list[str] = Field(..., max_length=12, description="The advocate's findings, one a line (point and reason).")
    cons: list[str] = Field(..., max_length=12, description="The critic's findings, one a line.")
    verdict: Literal[0, 1] = Field(..., description="The verdict the example reaches (1 good, 0 not).")
    reason: str = Field(..., min_length=1, max_length=2000, description="Its reason.")


class ReflectExample(JudgeExample):
    """A worked example of reviewing the judge's first verdict."""

    initial_verdict: Literal[0, 1] = Field(..., description="The judge's first verdict.")
    initial_reason: str = Field(..., min_length=1, max_length=2000, description="The judge's first reason.")
    overturned: bool = Field(..., description="Whether the review changes the first verdict.")


class Judge(Strict):
    standard: str = Field(..., min_length=1, max_length=2000, description="When a text is judged good (1) (the paper's prompt set).")
    example: JudgeExample = Field(..., description="A worked example (the paper's prompt set).")


class Reflect(Strict):
    example: ReflectExample = Field(..., description="A worked example (the paper's prompt set).")


class StartingPrinciples(Strict):
    """Principle sets, each a name under prompts/principles/ or a YAML path relative to the task
    folder."""

    generator: str = Field(..., min_length=1, description="Path B's starting bad-writing strategies S_G.")
    detector: str = Field(..., min_length=1, description="Path B's starting evaluation principles S_D (the judge's prompt once optimized).")
    debate_judge: str = Field(..., min_length=1, validation_alias=AliasChoices("debate_judge", "judge"), description="Path A's debate judge and reflect principles (Kindling's prompt set); older task files call this field judge.")


class TaskSpec(Strict):
    """One task.yaml."""

    name: str = Field(..., pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="The task's name (lower case, digits, . _ -).")
    language: str = Field(..., pattern=r"^[a-z]{2,3}$", description="ISO 639 code of the language the texts and prompts are in; the built-in templates <name>.<language>.jinja are used.")
    summary: str = Field(..., min_length=1, max_length=300, description="One line saying what the task is.")
    length_unit: Literal["chars", "words"] = Field(..., description="How a text's length is counted: chars (Chinese, Japanese) or words.")
    exemplars: str = Field("sft", min_length=1, description="The dataset in the store whose responses serve as exemplars for the generator and Kindling's debaters.")
    writing: Writing
    generation: Generation
    advocate: Debater
    critic: Debater
    judge: Judge
    reflect: Reflect
    principles: StartingPrinciples
