"""Node `persist`: writes the item's verdict (or its recorded failure) and closes the item."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents.context import CurateContext
from agents.state import CurateState


async def persist(state: CurateState, runtime: Runtime[CurateContext]) -> dict[str, Any]:
    return {"verdict_id": await runtime.context.sink.persist_soon(dict(state))}
