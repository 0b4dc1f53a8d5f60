"""Chat-model factory and the bounded, recorded, structured caller every agent role goes through."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import openai
from aiolimiter import AsyncLimiter
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from pydantic import BaseModel, SecretStr
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from agents.parsing import OutputParseError, parse_output
from agents.schemas import response_format
from agents.templates import RenderedPrompt
from kindling.config import LLMConfig
from store.errors import UserError

T = TypeVar("T", bound=BaseModel)
REASK = "上面的输出无法解析：{error}。请只输出一个符合要求格式的 JSON 对象，不要输出其他内容。"
MAX_ANSWER_CHARS = 50_000  # longer answers are refused unparsed (every schema field is bounded)
MAX_EXCERPT_CHARS = 2_000  # of a bad answer, sent back when re-asking
MAX_STORED_CHARS = 20_000  # of a raw answer, kept in agent_calls


def excerpt(text: str, limit: int = MAX_EXCERPT_CHARS) -> str:
    """`text`, cut to `limit` characters with a note of how much was left out."""
    return text if len(text) <= limit else f"{text[:limit]}…[+{len(text) - limit} chars]"


class LLMConfigError(UserError):
    """The backend cannot be built from this config (e.g. the key's variable is not set)."""


class AgentCallFailed(RuntimeError):
    """All bounded attempts of one agent call failed; the attempts are recorded."""

    def __init__(self, role: str, error: str, raw: str | None) -> None:
        super().__init__(f"{role}: {error}")
        self.role, self.error, self.raw = role, error, raw


class CallRecorder(Protocol):
    """Where attempts are written and stored results are looked up (see store.calls.CallLog)."""

    def cached(self, item_key: str, role: str) -> dict[str, Any] | None: ...

    def record(self, row: dict[str, Any]) -> None: ...

    async def commit(self) -> None: ...


def build_chat_model(cfg: LLMConfig) -> BaseChatModel:
    """Build the LangChain chat model for a backend config (no retries inside: the caller retries)."""
    if cfg.backend == "local":
        from agents.local_llm import load_local_chat_model

        return load_local_chat_model(
            cfg.model, gguf_file=cfg.gguf_file, max_new_tokens=cfg.max_tokens,
            temperature=cfg.temperature, max_string_chars=cfg.max_string_chars,
        )
    from langchain_openai import ChatOpenAI

    key = os.environ.get(cfg.api_key_env)
    if not key:
        raise LLMConfigError(
            f"environment variable {cfg.api_key_env} (api_key_env) is not set; "
            "set it to your API key (any non-empty value for servers without auth)"
        )
    # An (unhashable) Timeout object gives this model its own HTTP client: langchain-openai's
    # shared client per base URL is bound to the first event loop and breaks in a later one.
    return ChatOpenAI(
        model=cfg.model, base_url=cfg.base_url, api_key=SecretStr(key),
        timeout=openai.Timeout(cfg.timeout_s), max_retries=0, temperature=cfg.temperature,
        max_completion_tokens=cfg.max_tokens,
    )


async def close_chat_model(chat: BaseChatModel) -> None:
    """Close an endpoint model's HTTP client inside the loop that used it (no-op for others)."""
    client = getattr(chat, "root_async_client", None)
    if client is not None:
        await client.close()


def is_transient(exc: BaseException) -> bool:
    """429, 5xx, timeouts and connection errors are worth retrying; other errors are not."""
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


@dataclass
class CallKey:
    item_key: str
    role: str
    principle_version_id: int | None = None


class AgentLLM:
    """One backend as agents use it: bounded concurrency, rate limit, retries, re-asks, records."""

    def __init__(
        self, chat: BaseChatModel, cfg: LLMConfig, recorder: CallRecorder,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.chat, self.cfg, self.recorder, self._clock = chat, cfg, recorder, clock
        self._slots = asyncio.Semaphore(cfg.max_concurrency)
        self._limiter = AsyncLimiter(cfg.requests_per_second, 1) if cfg.requests_per_second else None

    async def call(
        self, key: CallKey, prompt: RenderedPrompt, schema: type[T], **invoke_kwargs: Any
    ) -> T:
        """Ask for `schema`; reuse a stored result; retry transport faults; re-ask bad output.

        Raises:
            AgentCallFailed: every attempt failed (all of them are recorded).
        """
        stored = self.recorder.cached(key.item_key, key.role)
        if stored is not None:
            return schema.model_validate(stored)
        messages: list[AnyMessage] = [HumanMessage(prompt.text)]
        fmt = response_format(key.role, schema)
        attempt, raw, error = 0, None, "no attempt made"
        for _ask in range(self.cfg.parse_attempts):
            try:
                reply, attempt = await self._invoke_with_retries(
                    key, prompt, messages, fmt, attempt, invoke_kwargs
                )
            except Exception as exc:  # transport failure after bounded retries
                raise AgentCallFailed(key.role, _describe(exc), None) from exc
            raw = str(reply.content)
            try:
                parsed = parse_bounded(raw, schema)
            except OutputParseError as exc:
                error = f"unparseable output: {exc}"
                self._record(key, prompt, messages, reply, attempt, error=error)
                await self.recorder.commit()
                messages = [*messages, AIMessage(excerpt(raw)), HumanMessage(REASK.format(error=exc))]
                continue
            self._record(key, prompt, messages, reply, attempt, parsed=parsed.model_dump())
            await self.recorder.commit()  # stored before anything downstream uses it
            return parsed
        raise AgentCallFailed(key.role, error, raw)

    async def _invoke_with_retries(
        self, key: CallKey, prompt: RenderedPrompt, messages: list[AnyMessage],
        fmt: dict[str, Any], attempt: int, kwargs: dict[str, Any],
    ) -> tuple[AIMessage, int]:
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.cfg.max_retries + 1),
            wait=wait_exponential_jitter(multiplier=self.cfg.backoff_initial_s, max=self.cfg.backoff_max_s,
                                        jitter=self.cfg.backoff_initial_s),
            reraise=True,
        )
        async for try_ in retrying:
            with try_:
                attempt += 1
                started = self._clock()
                try:
                    reply = await self._invoke_once(messages, fmt, kwargs)
                except Exception as exc:
                    self._record(key, prompt, messages, None, attempt, error=_describe(exc),
                                 latency_s=self._clock() - started)
                    await self.recorder.commit()
                    raise
                reply.response_metadata["kindling_latency_s"] = self._clock() - started
                return reply, attempt
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _invoke_once(
        self, messages: list[AnyMessage], fmt: dict[str, Any], kwargs: dict[str, Any]
    ) -> AIMessage:
        async with self._slots:
            if self._limiter is not None:
                await self._limiter.acquire()
            if self.cfg.backend == "openai":  # plain create(): the SDK's parse() path costs ~1 ms
                reply = await self.chat.ainvoke(messages, extra_body={"response_format": fmt},
                                                **kwargs)
            else:
                reply = await self.chat.ainvoke(messages, response_format=fmt, **kwargs)
        assert isinstance(reply, AIMessage)
        return reply

    def _record(
        self, key: CallKey, prompt: RenderedPrompt, messages: list[AnyMessage],
        reply: AIMessage | None, attempt: int, *, parsed: dict[str, Any] | None = None,
        error: str | None = None, latency_s: float | None = None,
    ) -> None:
        usage: dict[str, Any] = dict(reply.usage_metadata or {}) if reply is not None else {}
        if latency_s is None and reply is not None:
            latency_s = reply.response_metadata.get("kindling_latency_s", 0.0)
        self.recorder.record({
            "item_key": key.item_key, "role": key.role, "template": prompt.template,
            "template_hash": prompt.template_hash,
            "principle_version_id": key.principle_version_id, "model": self.cfg.model,
            "input": [{"role": m.type, "content": m.content} for m in messages],
            "raw_output": None if reply is None else excerpt(str(reply.content), MAX_STORED_CHARS),
            "parsed_output": parsed, "latency_ms": round((latency_s or 0.0) * 1000, 2),
            "prompt_tokens": usage.get("input_tokens"),
            "completion_tokens": usage.get("output_tokens"),
            "attempt": attempt, "error": error,
        })


def parse_bounded(raw: str, schema: type[T]) -> T:
    """`parse_output`, refusing unparsed an answer longer than any valid one can be."""
    if len(raw) > MAX_ANSWER_CHARS:
        raise OutputParseError(f"the answer has {len(raw)} characters, more than the "
                               f"{MAX_ANSWER_CHARS} any valid answer can take; answer briefly")
    return parse_output(raw, schema)


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    prefix = f"HTTP {status}: " if status else ""
    return f"{prefix}{type(exc).__name__}: {exc}"[:2000]
