"""A call cancelled while its request is out (the run stopped: another call's refusal, Ctrl-C)
is still recorded as an attempt; one cancelled before it was sent is not."""

from __future__ import annotations

import asyncio
from typing import Any

from kindling.agents.llm.caller import CANCELLED_IN_FLIGHT, AgentLLM, CallKey
from kindling.agents.llm.config import LLMConfig
from kindling.agents.templates import RenderedPrompt
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import BaseModel


class HangingChatModel(FakeListChatModel):
    """Test double: its request never comes back (a server still thinking)."""

    sent: int = 0

    async def ainvoke(self, *args: Any, **kwargs: Any) -> Any:
        self.sent += 1
        await asyncio.sleep(3600)


class RecorderDouble:
    """Test double of store.calls.CallLog: keeps the rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def cached(self, item_key: str, role: str) -> dict[str, Any] | None:
        return None

    def record(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    async def commit(self) -> None:
        return None


class Verdict(BaseModel):
    verdict: int


PROMPT = RenderedPrompt("curate/judge", "h", "判定这条祝福")


async def test_a_call_cancelled_in_flight_is_recorded() -> None:
    recorder, chat = RecorderDouble(), HangingChatModel(responses=["{}"])
    llm = AgentLLM(chat, LLMConfig(backend="openai", model="m", base_url="http://127.0.0.1:9/v1"),
                   recorder)
    task = asyncio.create_task(llm.call(CallKey("item-1", "judge"), PROMPT, Verdict))
    while chat.sent == 0:
        await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert [(r["item_key"], r["role"], r["attempt"], r["error"]) for r in recorder.rows] == [
        ("item-1", "judge", 1, CANCELLED_IN_FLIGHT)]
    assert recorder.rows[0]["raw_output"] is None and recorder.rows[0]["latency_ms"] >= 0


async def test_a_call_cancelled_before_it_was_sent_is_not_recorded() -> None:
    recorder, chat = RecorderDouble(), HangingChatModel(responses=["{}"])
    cfg = LLMConfig(backend="openai", model="m", base_url="http://127.0.0.1:9/v1",
                    max_concurrency=1)
    llm = AgentLLM(chat, cfg, recorder)
    first = asyncio.create_task(llm.call(CallKey("item-1", "advocate"), PROMPT, Verdict))
    waiting = asyncio.create_task(llm.call(CallKey("item-1", "critic"), PROMPT, Verdict))
    while chat.sent == 0:
        await asyncio.sleep(0.01)
    for task in (waiting, first):
        task.cancel()
    await asyncio.gather(first, waiting, return_exceptions=True)
    assert chat.sent == 1  # the critic waited for a slot and never sent its request
    assert [r["role"] for r in recorder.rows] == ["advocate"]
