"""The Detector's single call for the adversarial loop (same prompt and schema as the judge)."""

from __future__ import annotations

from typing import Any

from kindling.agents.judge.prompt import DetectPrompt
from kindling.agents.judge.schemas import DetectorVerdict
from kindling.agents.llm.caller import AgentCallFailed, AgentLLM, CallKey


async def ask_detector(
    llm: AgentLLM, prompt: DetectPrompt, key: CallKey, query: str, response: str, **kwargs: Any
) -> dict[str, Any]:
    """Judge one response: {verdict 1/0 or None, explanation, suggestion, error}."""
    try:
        out = await llm.call(key, prompt.render(query, response), DetectorVerdict, **kwargs)
    except AgentCallFailed as exc:
        return {"verdict": None, "explanation": None, "suggestion": None, "error": exc.error}
    return {"verdict": int(out.verdict == "Good"), "explanation": out.explanation,
            "suggestion": out.suggestion, "error": None}
