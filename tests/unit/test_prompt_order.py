"""`prompt_order`: paper renders every built-in template as before (byte for byte, the paper's
text); cache_friendly gives the same lines with the output format moved before the item, so two
items' prompts share everything fixed."""

from __future__ import annotations

import functools

import pytest
from kindling.agents.task import builtin_tasks, load_task
from kindling.agents.task_templates import SAMPLE, TEMPLATE_VARIABLES
from kindling.agents.templates import PromptLibrary

from tests.unit.test_task_prompts_identity import BEFORE, cases

OUTPUT_FORMAT = {"en": "[[Output format]]", "zh": "[[输出格式]]"}
PER_ITEM = ["curate/generate", "judge/detect", "adversarial/detect_flawed",
            "adversarial/generate_flawed", "adversarial/reflect_on_error",
            *(f"curate/{s}/{r}" for s in ("paper", "kindling")
              for r in ("advocate", "critic", "judge", "reflect"))]
"""The templates rendered once per item (by a query)."""
REORDERED = [name for name in PER_ITEM if name != "judge/detect"]


@functools.cache
def library(task: str, order: str) -> PromptLibrary:
    return load_task(task).prompts(order=order)  # type: ignore[arg-type]


def render(task: str, order: str, name: str, query: str) -> tuple[str, str]:
    prompts = library(task, order)
    variables = {key: SAMPLE[key] for key in TEMPLATE_VARIABLES[name]}
    return prompts.render(name, **{**variables, "query": query}).text, prompts.language


def shared_start(a: str, b: str) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[:n]


def test_the_paper_order_renders_the_papers_text() -> None:
    before = PromptLibrary(root=BEFORE, language="zh")
    for name, variables in cases():
        text = library("greetings-zh", "paper").render(name, **variables).text
        assert text == before.render(name, **variables).text, name


@pytest.mark.parametrize("task", builtin_tasks())
def test_cache_friendly_moves_the_output_format_before_the_item(task: str) -> None:
    for name in PER_ITEM:
        paper, language = render(task, "paper", name, "first query")
        friendly, _ = render(task, "cache_friendly", name, "first query")
        other, _ = render(task, "cache_friendly", name, "second query")
        assert sorted(friendly.splitlines()) == sorted(paper.splitlines()), name
        header = OUTPUT_FORMAT[language]
        assert header not in shared_start(paper, render(task, "paper", name, "second query")[0])
        if name in REORDERED:
            assert header in shared_start(friendly, other), name
            output_line = paper.rstrip().splitlines()[-1]  # the paper's last line
            assert not friendly.rstrip().endswith(output_line), name
        else:  # rendered once per item by the judge, which keeps the paper's order
            assert friendly == paper
