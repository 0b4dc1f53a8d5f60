"""Script set "adversarial": Path B's roles for the stand-in server (the Detector is `detect`).

The Generator alternates: sample 0 of a batch is long (≥ 40 characters: the default Detector,
which passes long texts, is fooled), the others are short (caught). Optimizers return a rule set
numbered by their call count, so every rewrite is a new version; the Reflector always answers.
"""

from __future__ import annotations

from typing import Any

from tests.standin.scripts import register_script

LONG = "愿你新的一岁眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉，平安喜乐万事顺意！"
SHORT = "生日快乐，天天开心！"


def generate_flawed(body: dict[str, Any]) -> dict[str, Any]:
    """Long (fools the Detector) for seed 0, short (caught) otherwise."""
    fooling = body.get("seed", 0) == 0
    return {"text": LONG if fooling else SHORT, "flaws": ["辞藻堆砌，没有具体内容"]}


def revise_strategies(body: dict[str, Any]) -> dict[str, Any]:
    n = body["_standin"]["index"]
    return {"rules": [f"写坏策略{n}-甲", f"写坏策略{n}-乙"]}


def revise_principles(body: dict[str, Any]) -> dict[str, Any]:
    n = body["_standin"]["index"]
    return {"rules": [f"评价原则{n}-甲", f"评价原则{n}-乙", f"评价原则{n}-甲"]}  # a duplicate


def reflect_error(body: dict[str, Any]) -> dict[str, Any]:
    return {"explanation": "只看了长度", "suggestion": "看内容是否贴合场景"}


register_script("adversarial", {
    "generate_flawed": generate_flawed, "revise_strategies": revise_strategies,
    "revise_principles": revise_principles, "reflect_error": reflect_error,
})
