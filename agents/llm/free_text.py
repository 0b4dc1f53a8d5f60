"""Free-text samples from an endpoint model, for comparing it with trained policies: each query
is sent as the user message (as a policy sees it through its chat template), `n` samples each.

Transport faults (429, 5xx, timeouts) are retried with the config's bounds; a sample that still
fails is kept as None with its error, never dropped, so the comparison can count it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from agents.llm.caller import is_transient
from agents.llm.config import LLMConfig
from agents.llm.dialects import answer_text
from agents.llm.endpoints import LlamaServerChat


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
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient), stop=stop_after_attempt(cfg.max_retries + 1),
            wait=wait_exponential_jitter(multiplier=cfg.backoff_initial_s,
                                         max=cfg.backoff_max_s, jitter=cfg.backoff_initial_s),
            reraise=True)
        try:
            async with slots:
                async for attempt in retrying:
                    with attempt:
                        reply = await model.ainvoke([HumanMessage(query)], seed=index)
            return answer_text(reply.content, None).strip()
        except Exception as exc:  # noqa: BLE001 - after the bounded retries: a failed sample, counted
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return None

    groups = await asyncio.gather(*(asyncio.gather(*(one(q, i) for i in range(n)))
                                    for q in queries))
    return EndpointSamples([list(g) for g in groups], errors)
