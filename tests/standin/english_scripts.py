"""Script set "english": every role of Path A and Path B answering in English, for the task
slogans-en (the stand-in's default roles answer with Chinese greetings).

The Detector and judge stay the default ones (Good / 1 iff the text has at least 40 characters),
so a long slogan passes and a short one fails. The Generator of Path B alternates as in the
"adversarial" set: long (fools the Detector) for seed 0, short (caught) otherwise.
"""

from __future__ import annotations

import random
from typing import Any

from tests.standin.scripts import _digest, last_user_text, message_text, register_script

SLOGANS = (
    "Still ice-cold at the summit.",
    "Rent, ramen, and a little left over.",
    "Packs like a sock. Sleeps like a pillow, wherever the night finds you.",
    "Know where the loan went before it's gone.",
    "Hear every whimper. Share nothing else with anyone, ever.",
)
LONG = "Quality you can trust, crafted for the modern world and everyone in it."
SHORT = "Simply the best."


def generate(body: dict[str, Any]) -> dict[str, Any]:
    """One of a few English slogans, a function of the prompt and the sample."""
    meta = body.get("_standin", {})
    sample = body.get("seed", meta.get("index", 0))
    rng = random.Random(_digest(*(message_text(m) for m in body.get("messages") or []), sample))
    return {"text": rng.choice(SLOGANS)}


def _points(body: dict[str, Any], point: str, reason: str) -> dict[str, Any]:
    """{point, reason} findings for the paper's prompt set, plain strings for Kindling's."""
    if '{"point":' in last_user_text(body):
        return {"points": [{"point": point, "reason": reason}]}
    return {"points": [f"{point}: {reason}"]}


def advocate(body: dict[str, Any]) -> dict[str, Any]:
    return _points(body, "Concrete", "It names a moment the buyer knows.")


def critic(body: dict[str, Any]) -> dict[str, Any]:
    return _points(body, "Generic", "Another product could say the same.")


def generate_flawed(body: dict[str, Any]) -> dict[str, Any]:
    fooling = body.get("seed", 0) == 0
    return {"text": LONG if fooling else SHORT, "flaws": ["a stock phrase that fits any product"]}


def revise_strategies(body: dict[str, Any]) -> dict[str, Any]:
    n = body["_standin"]["index"]
    return {"rules": [f"Strategy {n}: hide the stock phrase", f"Strategy {n}: a quiet superlative"]}


def revise_principles(body: dict[str, Any]) -> dict[str, Any]:
    n = body["_standin"]["index"]
    return {"rules": [f"Principle {n}: the slogan names this product's benefit",
                      f"Principle {n}: no claim nobody can check"]}


def reflect_error(body: dict[str, Any]) -> dict[str, Any]:
    return {"explanation": "It counted length only", "suggestion": "Ask what only this product could say"}


register_script("english", {
    "generate": generate, "advocate": advocate, "critic": critic,
    "generate_flawed": generate_flawed, "revise_strategies": revise_strategies,
    "revise_principles": revise_principles, "reflect_error": reflect_error,
})
