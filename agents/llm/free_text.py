"""Free-text samples from an endpoint model, for comparing it with trained policies: each query
is sent as the user message (as a policy sees it through its chat template), `n` samples each.

Each attempt has the config's deadline; transport faults (429, 5xx, timeouts) are retried with
the config's bounds (see `retries`); a sample that still fails is kept as None with its error,
never dropped, so the comparison can count it. Samples and errors are redacted and bounded as
they come in, as the roles' answers are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from kindling.agents.llm.answer_bounds import received
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.endpoints import LlamaServerChat
from kindling.agents.llm.retries import describe, endpoint_retrying, within_deadline
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage


@dataclass
class EndpointSamples:
    texts: list[list[str | None]]  # per query, n samples (None: failed for good)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(t is None for group in self.texts for t in group)


async def sample_endpoint(chat: BaseChatModel, cfg: LLMConfig, queries: Sequence[str], n: int, *,
                          temperature: float, max_tokens: int) -> EndpointSamples:
    """`n` samples per query, at most `cfg.max_concurrency` requests in flight."""
    serial = isinstance(chat, LlamaServerChat)  # llama-cpp-python's server: one call at a time
    slots = asyncio.Semaphore(1 if serial else cfg.max_concurrency)
    errors: list[str] = []
    model = chat.bind(temperature=temperature, max_completion_tokens=max_tokens)

    async def one(query: str, index: int) -> str | None:
        try:
            async with slots:
                async for attempt in endpoint_retrying(cfg):
                    with attempt:
                        reply = await within_deadline(
                            model.ainvoke([HumanMessage(query)], seed=index), cfg.timeout_s)
            assert isinstance(reply, AIMessage)
            return str(received(reply).content).strip()
        except Exception as exc:  # noqa: BLE001 - after the bounded retries: a failed sample, counted
            errors.append(describe(exc)[:300])
            return None

    groups = await asyncio.gather(*(asyncio.gather(*(one(q, i) for i in range(n)))
                                    for q in queries))
    return EndpointSamples([list(g) for g in groups], errors)
