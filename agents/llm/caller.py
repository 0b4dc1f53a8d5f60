"""The bounded, recorded, structured caller every agent role goes through.

`AgentLLM.call` asks one backend for one role's schema: a stored result is reused; each attempt
has a deadline (`timeout_s`); transport faults (429, transient 5xx, timeouts, connection errors)
are retried with backoff or the server's Retry-After (see `retries`); a structural refusal is
never retried (under `structured_output: auto` the next structured-output mode is tried, else the
run stops with `EndpointError`, as it does after a redirect loop or a Retry-After past its bound);
a blank, reasoning-only, over-long or unparseable answer is re-asked a bounded number of times
with the error and a cut excerpt. A reply is redacted and bounded as it comes in
(`answer_bounds.received`). Every attempt is recorded, and committed before its answer is used.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aiolimiter import AsyncLimiter
from kindling.agents.budget import BudgetSpent, CostMeter
from kindling.agents.llm.answer_bounds import Reply, excerpt, parse_answer, received
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.dialects import (
    AUTO_ORDER,
    answer_text,
    is_structural,
    next_mode,
    refuses_format,
    request_fields,
)
from kindling.agents.llm.endpoints import LlamaServerChat, refusal_message
from kindling.agents.llm.errors import CallAttemptError, EndpointError
from kindling.agents.llm.parsing import OutputParseError
from kindling.agents.llm.retries import (
    describe,
    endpoint_retrying,
    is_transient,
    stop_reason,
    within_deadline,
)
from kindling.agents.llm.role_output import response_format
from kindling.agents.llm.schema_bounds import clamp_schema
from kindling.agents.llm.usage import usage_columns
from kindling.agents.task import task_prompts
from kindling.agents.templates import PromptLibrary, RenderedPrompt
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)
REASK_TEMPLATE = "llm/reask"  # sent with the parse error when an answer does not parse
__all__ = ["CANCELLED_IN_FLIGHT", "REASK_TEMPLATE", "AgentCallFailed", "AgentLLM", "CallKey",
           "CallRecorder", "is_transient"]


CANCELLED_IN_FLIGHT = "cancelled in flight: the run stopped before the answer came"


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


@dataclass
class CallKey:
    item_key: str
    role: str
    principle_version_id: int | None = None


@dataclass
class Request:
    """How one attempt's request went out: over HTTP in structured-output `mode`; None when not
    (yet) sent over HTTP, so a cancellation then leaves nothing in flight."""

    mode: str | None = None


class AgentLLM:
    """One backend as agents use it: bounded concurrency, rate limit, retries, re-asks, records.

    `mode` is the structured-output mode in use: the configured one, or under `auto` the first
    of `AUTO_ORDER` the endpoint has not refused (shared by every call through this object).
    """

    def __init__(
        self, chat: BaseChatModel, cfg: LLMConfig, recorder: CallRecorder,
        clock: Callable[[], float] = time.perf_counter, prompts: PromptLibrary | None = None,
    ) -> None:
        self.chat, self.cfg, self.recorder, self._clock = chat, cfg, recorder, clock
        self.meter: CostMeter | None = None  # a money budget: checked before each request
        self.prompts = prompts or task_prompts()
        # llama-cpp-python's server answers one request at a time: more in flight only queue
        # there, where the client's timeout runs out and an abandoned request still costs compute
        self._slots = asyncio.Semaphore(1 if isinstance(chat, LlamaServerChat)
                                        else cfg.max_concurrency)
        self._limiter = AsyncLimiter(cfg.requests_per_second, 1) if cfg.requests_per_second else None
        self.http = cfg.backend == "openai" or isinstance(chat, LlamaServerChat)
        if isinstance(chat, LlamaServerChat):  # llama.cpp's server takes json_object + schema
            self.mode = "json_object_schema"
        elif cfg.backend == "local":
            self.mode = "json_schema"  # the in-process model reads the OpenAI form
        else:
            self.mode = AUTO_ORDER[0] if cfg.structured_output == "auto" else cfg.structured_output

    async def call(
        self, key: CallKey, prompt: RenderedPrompt, schema: type[T], **invoke_kwargs: Any
    ) -> T:
        """Ask for `schema`; reuse a stored result; retry transport faults; re-ask bad output.

        Raises:
            AgentCallFailed: every attempt failed (all of them are recorded).
            EndpointError: the endpoint refused the request itself, in every mode it may take.
        """
        stored = self.recorder.cached(key.item_key, key.role)
        if stored is not None:
            return schema.model_validate(stored)
        messages: list[AnyMessage] = [HumanMessage(prompt.text)]
        attempt, raw, error, asks = 0, None, "no attempt made", 0
        while asks < self.cfg.parse_attempts:
            try:
                reply = await self._invoke_with_retries(key, prompt, messages, schema, attempt,
                                                        invoke_kwargs)
            except CallAttemptError as failed:  # an EndpointError stops the run, as it comes
                attempt = failed.attempt
                if is_structural(failed.cause):  # a lower mode next, or EndpointError
                    self._refused(failed.mode or self.mode, failed.cause)
                    continue
                raise AgentCallFailed(key.role, describe(failed.cause), None) from failed.cause
            asks, attempt, raw = asks + 1, reply.attempt, reply.text
            try:
                parsed = parse_answer(reply, schema, self.cfg.max_tokens)
            except OutputParseError as exc:
                error = f"unparseable output: {exc}"
                await self._record(key, prompt, messages, reply.message, attempt, error=error)
                messages = [*messages, AIMessage(excerpt(raw)),
                            HumanMessage(self._reask(exc))]
                continue
            await self._record(key, prompt, messages, reply.message, attempt,
                               parsed=parsed.model_dump())  # stored before it is used
            return parsed
        raise AgentCallFailed(key.role, error, raw)

    def _reask(self, error: BaseException) -> str:
        """The follow-up message asking again for a parseable answer, naming the error."""
        return self.prompts.render(REASK_TEMPLATE, error=str(error)).text

    def _refused(self, mode: str, exc: BaseException) -> None:
        """After a structural refusal: go on in a lower mode (`auto`), or stop the run."""
        if self._lower(mode, exc) is None:
            raise EndpointError(refusal_message(self.cfg, mode, exc)) from exc
        self._step_down(mode, exc)

    def _lower(self, mode: str, exc: BaseException) -> str | None:
        """The mode `auto` takes after this refusal of `mode`, or None (the run must stop)."""
        if self.cfg.structured_output != "auto" or not refuses_format(exc):
            return None
        return next_mode(mode)

    def _step_down(self, mode: str, exc: BaseException) -> None:
        lower = self._lower(mode, exc) if is_structural(exc) else None
        if lower is not None and self.mode == mode:  # another call may have stepped already
            self.mode = lower

    async def _invoke_with_retries(
        self, key: CallKey, prompt: RenderedPrompt, messages: list[AnyMessage],
        schema: type[BaseModel], attempt: int, kwargs: dict[str, Any],
    ) -> Reply:
        """One answer, transport faults retried, each failed attempt recorded.

        Raises:
            EndpointError: the run must stop (see `stop_reason`; the budget spent).
            CallAttemptError: the last attempt's error (not transient, or retried to the bound).
        """
        request = Request()
        try:
            async for try_ in endpoint_retrying(self.cfg):
                with try_:
                    attempt, request = attempt + 1, Request()
                    started = self._clock()
                    try:
                        message = await self._invoke_once(messages, key.role, schema, kwargs,
                                                          request)
                    except BudgetSpent:
                        raise  # never sent: nothing to record
                    except asyncio.CancelledError:  # the run stopped with this call sent
                        if request.mode is not None:  # sent: in flight
                            self.recorder.record(self._row(
                                key, prompt, messages, None, attempt, error=CANCELLED_IN_FLIGHT,
                                latency_s=self._clock() - started))  # the run's final flush
                        raise
                    except Exception as exc:
                        await self._record(key, prompt, messages, None, attempt,
                                           error=describe(exc), latency_s=self._clock() - started)
                        stop = stop_reason(exc, self.cfg)
                        if stop is not None:
                            raise stop from exc
                        raise  # tenacity retries a transient fault
                    message.response_metadata["kindling_latency_s"] = self._clock() - started
                    return Reply(message, answer_text(message.content, message.tool_calls),
                                 attempt)
        except EndpointError:
            raise
        except Exception as exc:
            raise CallAttemptError(exc, attempt, request.mode) from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _invoke_once(
        self, messages: list[AnyMessage], role: str, schema: type[BaseModel],
        kwargs: dict[str, Any], request: Request,
    ) -> AIMessage:
        """One request, once a slot, the rate limit and the budget allow it; `request` says how
        it went out."""
        async with self._slots:
            if self._limiter is not None:
                await self._limiter.acquire()
            if self.meter is not None:  # with a slot: no new request once the budget is spent
                self.meter.check()
            mode = self.mode  # read once a slot is free: a call that waited sees a step down
            if self.http:  # plain create(): the SDK's parse() path costs ~1 ms
                shape = response_format(role, schema)["json_schema"]["schema"]  # type: ignore[index]
                if self.cfg.backend == "local":  # a small model: bounded strings close the JSON
                    shape = clamp_schema(shape, self.cfg.max_string_chars)  # type: ignore[arg-type]
                request.mode = mode  # sent: cancelled from here on, it was in flight
                try:  # a deadline, whatever the server sends (a trickle of bytes included)
                    reply = await within_deadline(self.chat.ainvoke(
                        messages, extra_body=request_fields(mode, role, shape), **kwargs),
                        self.cfg.timeout_s)
                except Exception as exc:
                    self._step_down(mode, exc)  # before the slot frees: waiting calls see it
                    raise
            else:
                reply = await self.chat.ainvoke(messages, response_format=response_format(
                    role, schema), **kwargs)
        assert isinstance(reply, AIMessage)
        return received(reply)  # keys redacted, answer and reasoning bounded: as kept everywhere

    async def _record(
        self, key: CallKey, prompt: RenderedPrompt, messages: list[AnyMessage],
        reply: AIMessage | None, attempt: int, *, parsed: dict[str, Any] | None = None,
        error: str | None = None, latency_s: float | None = None,
    ) -> None:
        """Queue one attempt's row and commit it (with any others ready in this turn)."""
        self.recorder.record(self._row(key, prompt, messages, reply, attempt, parsed=parsed,
                                       error=error, latency_s=latency_s))
        await self.recorder.commit()

    def _row(
        self, key: CallKey, prompt: RenderedPrompt, messages: list[AnyMessage],
        reply: AIMessage | None, attempt: int, *, parsed: dict[str, Any] | None = None,
        error: str | None = None, latency_s: float | None = None,
    ) -> dict[str, Any]:
        """One attempt as an `agent_calls` row."""
        if latency_s is None and reply is not None:
            latency_s = reply.response_metadata.get("kindling_latency_s", 0.0)
        reasoning = reply.additional_kwargs.get("reasoning_content") if reply is not None else None
        raw = None if reply is None else answer_text(reply.content, reply.tool_calls)
        row = {
            "item_key": key.item_key, "role": key.role, "template": prompt.template,
            "template_hash": prompt.template_hash,
            "principle_version_id": key.principle_version_id, "model": self.cfg.model,
            "input": [{"role": m.type, "content": m.content} for m in messages],
            "raw_output": raw, "reasoning": None if reasoning is None else str(reasoning),
            "parsed_output": parsed, "latency_ms": round((latency_s or 0.0) * 1000, 2),
            **usage_columns(reply), "attempt": attempt, "error": error,
        }
        if self.meter is not None:
            self.meter.add(row)
        return row
