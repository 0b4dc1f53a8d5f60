"""Helpers shared by Path A's nodes: one guarded agent call that turns failure into state."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from agents.llm import AgentCallFailed, AgentLLM, CallKey
from agents.templates import RenderedPrompt

T = TypeVar("T", bound=BaseModel)


async def ask(
    llm: AgentLLM, state: dict[str, Any], role: str, prompt: RenderedPrompt, schema: type[T],
    principle_version_id: int | None = None, **kwargs: Any,
) -> tuple[T | None, dict[str, Any]]:
    """Call one role; on final failure return (None, partial state recording the error)."""
    key = CallKey(state["item_key"], role, principle_version_id)
    try:
        return await llm.call(key, prompt, schema, **kwargs), {}
    except AgentCallFailed as exc:
        return None, {"errors": [f"{role}: {exc.error}"], "failed_raw": {role: exc.raw}}
