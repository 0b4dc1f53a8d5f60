"""The generic zh templates rendered with the built-in task `greetings-zh` give, byte for byte, the
prompts the greeting-only templates gave before tasks (kept in tests/fixtures/prompts_before_tasks):
every role of both curate prompt sets, the generator, the detectors, the adversarial roles and
fragments, and the re-ask, each with several fixed sample items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kindling.agents.task import load_task
from kindling.agents.templates import PromptLibrary

BEFORE = Path(__file__).resolve().parents[1] / "fixtures" / "prompts_before_tasks"

RULES = ["切题：祝福语回应了请求的核心目的。", "真诚：表达出真切的情感。"]
ITEM = {"query": "给妈妈的生日祝福", "response": "妈妈，生日快乐！愿您岁岁平安。"}
ODD = {"query": "q with {{ braces }} and \"quotes\"", "response": "line one\nline two <<<END>>>"}
PROS, CONS = ["流畅：语句通顺", "情感真挚"], ["空泛：缺乏针对性"]
DEBATE = [dict(**ITEM, pros=PROS, cons=CONS), dict(**ODD, pros=[], cons=[])]
EXEMPLARS = [["祝您福如东海，寿比南山。", "愿你每天都开心。"], []]


def cases() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for item in (ITEM, ODD):
        for ex in EXEMPLARS:
            out.append(("curate/generate", {"query": item["query"], "exemplars": ex}))
            out += [(f"curate/kindling/{role}", {**item, "exemplars": ex})
                    for role in ("advocate", "critic")]
        out += [(f"curate/paper/{role}", dict(item)) for role in ("advocate", "critic")]
        out += [("judge/detect", {**item, "principles": rules}) for rules in (RULES, [])]
        out.append(("adversarial/detect_flawed", {**item, "principles": RULES}))
        out.append(("adversarial/generate_flawed", {"query": item["query"], "strategies": RULES}))
        for label, predicted in ((1, 0), (0, 1)):
            out.append(("adversarial/reflect_on_error", {
                **item, "principles": RULES, "label": label, "predicted": predicted,
                "explanation": "它很真诚"}))
    for debate in DEBATE:
        for prompt_set in ("paper", "kindling"):
            out.append((f"curate/{prompt_set}/judge", {**debate, "principles": RULES}))
            out.append((f"curate/{prompt_set}/reflect", {
                **debate, "principles": RULES, "initial_verdict": 0,
                "initial_reason": "催婚带来压力"}))
    for feedback in (["太笼统", "缺乏细节"], []):
        out.append(("adversarial/revise_principles",
                    {"principles": RULES, "feedback": feedback, "max_rules": 10}))
        out.append(("adversarial/revise_strategies",
                    {"strategies": RULES, "feedback": feedback, "max_rules": 8}))
    for suggestion in ("写得更隐蔽", None, ""):
        out.append(("adversarial/fragments/feedback_caught",
                    {"explanation": "用了套话", "suggestion": suggestion}))
    out.append(("adversarial/fragments/feedback_reflection",
                {"explanation": "漏看了语境", "suggestion": "加一条切题原则"}))
    for flaws in (["套话", "语气不符"], []):
        out.append(("adversarial/fragments/feedback_fooled", {"flaws": flaws, "text": "生日快乐"}))
    out.append(("llm/reask", {"error": "field verdict: Field required"}))
    return out


def current_prompts() -> PromptLibrary:
    return load_task("greetings-zh").prompts()


def test_every_template_before_tasks_is_covered() -> None:
    before = {p.relative_to(BEFORE).as_posix().removesuffix(".zh.jinja")
              for p in BEFORE.rglob("*.zh.jinja")}
    assert before == {name for name, _ in cases()}
    assert len(before) == 19


@pytest.mark.parametrize(("name", "variables"), cases(),
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(cases())])
def test_greetings_zh_renders_what_the_templates_rendered_before(
        name: str, variables: dict[str, Any]) -> None:
    old = PromptLibrary(root=BEFORE, language="zh").render(name, **variables)
    new = current_prompts().render(name, **variables)
    assert new.text == old.text
    assert new.template == old.template
