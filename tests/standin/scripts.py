"""Scripts: the default answer of each role, the registry of script sets, text helpers."""

from __future__ import annotations

import hashlib
import importlib
import random
import re
from collections.abc import Callable
from typing import Any

from .config import StandinConfig

Script = Callable[[dict[str, Any]], "dict[str, Any] | str"]
RESPONSE_START, RESPONSE_END = "<<<RESPONSE>>>", "<<<END>>>"
JUDGE_MIN_CHARS = 40  # the default judge passes a greeting longer than 39 characters


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict))


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the task: the last user message holding the judged text, else the last one.

    A re-ask (the client's "that did not parse, try again" turn) follows the task message, so
    scripts answer the task as a real model reading the whole conversation would.
    """
    users = [message_text(m) for m in body.get("messages") or [] if m.get("role") == "user"]
    for text in reversed(users):
        if RESPONSE_START in text:
            return text
    return users[0] if users else ""


def candidate_text(body: dict[str, Any]) -> str:
    """The judged text: between the response markers in the last user message, else all of it."""
    text = last_user_text(body)
    start = text.find(RESPONSE_START)
    if start < 0:
        return text.strip()
    start += len(RESPONSE_START)
    end = text.find(RESPONSE_END, start)
    return text[start : end if end >= 0 else len(text)].strip()


def _digest(*parts: object) -> int:
    """A hash stable across processes (unlike ``hash``)."""
    data = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


_PHRASES = (
    "你好",
    "祝你今天心情愉快",
    "愿你的每一天都充满阳光",
    "新年快乐",
    "万事如意",
    "身体健康",
    "工作顺利",
    "阖家幸福",
    "前程似锦",
    "笑口常开",
    "心想事成",
    "平安喜乐",
)


def generate(body: dict[str, Any]) -> dict[str, Any]:
    """A Chinese greeting of 16-63 characters, a function of prompt, seed and sample index."""
    meta = body.get("_standin", {})
    seed = body.get("seed")
    sample = f"seed={seed}:{meta.get('choice', 0)}" if seed is not None else meta.get("index", 0)
    rng = random.Random(_digest(*(message_text(m) for m in body.get("messages") or []), sample))
    length, text = rng.randint(16, 63), ""
    while len(text) < length:
        text += rng.choice(_PHRASES) + "，"
    return {"text": text[: length - 1] + "！"}


def advocate(body: dict[str, Any]) -> dict[str, Any]:
    """Points in favour of the candidate."""
    n = len(candidate_text(body))
    return {"points": [f"The greeting is {n} characters long.", "It addresses the reader warmly."]}


def critic(body: dict[str, Any]) -> dict[str, Any]:
    """Points against the candidate."""
    n = len(candidate_text(body))
    short = "It is too short to carry much feeling." if n < JUDGE_MIN_CHARS else "It is long."
    return {"points": [short, "It relies on stock phrases."]}


def judge(body: dict[str, Any]) -> dict[str, Any]:
    """Verdict 1 iff the candidate is longer than 39 characters."""
    n = len(candidate_text(body))
    verdict = int(n >= JUDGE_MIN_CHARS)
    return {"verdict": verdict, "reason": f"{n} characters; needs at least {JUDGE_MIN_CHARS}."}


def detect(body: dict[str, Any]) -> dict[str, Any]:
    """Path B's Detector: Good iff the fenced response is at least 40 characters long."""
    n = len(candidate_text(body))
    if n >= JUDGE_MIN_CHARS:
        return {"verdict": "Good", "explanation": f"{n} characters, long enough."}
    return {"verdict": "Bad", "explanation": f"{n} characters; needs at least {JUDGE_MIN_CHARS}.",
            "suggestion": "Write a longer, more specific greeting."}


_INITIAL_VERDICT = re.compile(r"initial_verdict:\s*\**\s*([01])")


def reflect(body: dict[str, Any]) -> dict[str, Any]:
    """Keeps the last verdict after ``initial_verdict:`` (else judges afresh); never overturns."""
    found = _INITIAL_VERDICT.findall(last_user_text(body))
    verdict = int(found[-1]) if found else judge(body)["verdict"]
    return {"verdict": verdict, "reason": "The initial verdict stands.", "overturned": False}


def plain(body: dict[str, Any]) -> str:
    """Plain-text answer for requests without a JSON schema."""
    return str(generate(body)["text"])


SCRIPTS: dict[str, dict[str, Script]] = {
    "default": {
        "generate": generate,
        "advocate": advocate,
        "critic": critic,
        "judge": judge,
        "reflect": reflect,
        "detect": detect,
        "plain": plain,
    },
}


def register_script(name: str, roles: dict[str, Script], inherit: str | None = "default") -> None:
    """Register script set ``name``: ``roles`` over a copy of set ``inherit`` (if given)."""
    base = dict(SCRIPTS[inherit]) if inherit else {}
    SCRIPTS[name] = {**base, **roles}


def load_scripts(config: StandinConfig) -> None:
    """Import ``config.script_modules`` and check that the script set exists."""
    for module in config.script_modules:
        importlib.import_module(module)
    if config.script not in SCRIPTS:
        raise ValueError(f"unknown script set {config.script!r}; known: {sorted(SCRIPTS)}")
