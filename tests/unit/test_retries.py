"""Retry-After honoured up to its bound, a deadline per attempt, structural transport faults
named and never retried."""

from __future__ import annotations

import asyncio
import email.utils
import time

import httpx
import openai
import pytest
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.errors import EndpointError
from kindling.agents.llm.http_client import sdk_httpx
from kindling.agents.llm.retries import (
    DeadlineExceeded,
    WaitForServer,
    endpoint_retrying,
    is_transient,
    retry_after_s,
    stop_reason,
    within_deadline,
)
from tenacity import RetryCallState

CFG = LLMConfig(backend="openai", base_url="http://127.0.0.1:9/v1", model="m",
                backoff_initial_s=0.01, backoff_max_s=0.05, retry_after_max_s=60)


def rate_limited(**headers: str) -> openai.RateLimitError:
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response = httpx.Response(429, headers=headers, request=request)
    return openai.RateLimitError("rate limited", response=response, body=None)


@pytest.mark.parametrize(("headers", "wait"), [
    ({"retry-after": "3"}, 3.0), ({"Retry-After": "1.5"}, 1.5), ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25), ({"retry-after": "-4"}, 0.0),
    ({"retry-after": "soon"}, None), ({}, None),
])
def test_retry_after_in_seconds_or_milliseconds(headers: dict[str, str],
                                                wait: float | None) -> None:
    assert retry_after_s(rate_limited(**headers)) == wait


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    wait = retry_after_s(rate_limited(**{"retry-after": when}))
    assert wait is not None and 100 < wait <= 121


def wait_after(exc: BaseException, cfg: LLMConfig = CFG) -> float:
    state = RetryCallState(endpoint_retrying(cfg), fn=None, args=(), kwargs={})
    state.set_exception((type(exc), exc, None))
    return WaitForServer(cfg)(state)


def test_the_wait_is_the_servers_when_it_asks_else_backoff() -> None:
    assert wait_after(rate_limited(**{"retry-after": "2"})) == 2.0
    assert wait_after(rate_limited()) <= CFG.backoff_max_s + CFG.backoff_initial_s
    assert wait_after(rate_limited(**{"retry-after": "90"})) == 60  # never past the bound


async def test_a_retry_after_past_the_bound_is_not_slept_and_stops_the_run() -> None:
    asked = 0

    async def request() -> None:
        nonlocal asked
        asked += 1
        raise rate_limited(**{"retry-after": "3600"})

    with pytest.raises(openai.RateLimitError):
        async for attempt in endpoint_retrying(CFG):
            with attempt:
                await request()
    assert asked == 1
    stop = stop_reason(rate_limited(**{"retry-after": "3600"}), CFG)
    assert isinstance(stop, EndpointError)
    assert "3600 s" in str(stop) and "retry_after_max_s (60 s)" in str(stop)
    assert stop_reason(rate_limited(**{"retry-after": "3"}), CFG) is None


async def test_a_short_retry_after_is_retried_within_bounds() -> None:
    asked = 0

    async def request() -> str:
        nonlocal asked
        asked += 1
        if asked < 3:
            raise rate_limited(**{"retry-after-ms": "10"})
        return "ok"

    async for attempt in endpoint_retrying(CFG):
        with attempt:
            result = await request()
    assert result == "ok" and asked == 3


def redirect_loop() -> openai.APIConnectionError:
    request = sdk_httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    try:
        raise sdk_httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
    except sdk_httpx.TooManyRedirects as cause:
        try:
            raise openai.APIConnectionError(request=request) from cause
        except openai.APIConnectionError as exc:
            return exc


def test_a_redirect_loop_is_named_and_not_retried() -> None:
    exc = redirect_loop()
    assert not is_transient(exc)
    stop = stop_reason(exc, CFG)
    assert stop is not None and "redirect loop" in str(stop) and "check base_url" in str(stop)
    plain = openai.APIConnectionError(request=sdk_httpx.Request("GET", "http://x"))
    assert is_transient(plain) and stop_reason(plain, CFG) is None


async def test_a_deadline_ends_an_attempt_whatever_it_awaits() -> None:
    with pytest.raises(DeadlineExceeded, match=r"timeout_s \(0.05 s\)") as caught:
        await within_deadline(asyncio.sleep(30), 0.05)
    assert is_transient(caught.value)

    async def own_timeout() -> None:
        raise TimeoutError("not the deadline")

    with pytest.raises(TimeoutError, match="not the deadline") as other:
        await within_deadline(own_timeout(), 5)
    assert not isinstance(other.value, DeadlineExceeded)
