"""How an endpoint's faults are met: a deadline per attempt, retries with bounds, the server's
Retry-After honoured up to a bound, and the faults that stop a run instead.

- A timeout is a deadline: `within_deadline` ends an attempt at `timeout_s` whatever the server
  sends (a reply that trickles in a byte at a time included); it is then retried like any
  transient fault (429, transient 5xx, connection errors).
- `Retry-After` (seconds or an HTTP date) and `retry-after-ms` set the wait before the next try
  when the server sends them; a wait longer than `retry_after_max_s` is not slept: the run stops
  with `EndpointError` (rerun the command later to resume it).
- A redirect loop, a redirect to a scheme or URL that cannot be fetched, is structural: named,
  never retried, the run stops. A reply over the size bound fails its attempt, not retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable
from typing import TypeVar

import openai
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.dialects import is_structural
from kindling.agents.llm.errors import EndpointError
from kindling.agents.llm.http_client import MAX_REDIRECTS, ReplyTooLarge, sdk_httpx
from kindling.agents.llm.redaction import redact
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """No complete answer within one attempt's deadline (`timeout_s`)."""


async def within_deadline(awaitable: Awaitable[T], timeout_s: float) -> T:
    """`awaitable`'s result, or `DeadlineExceeded` once `timeout_s` has passed (it is cancelled)."""
    deadline = asyncio.timeout(timeout_s)
    try:
        async with deadline:
            return await awaitable
    except TimeoutError as exc:
        if not deadline.expired():
            raise
        raise DeadlineExceeded(f"no complete answer within timeout_s ({timeout_s:g} s)") from exc


def transport_cause(exc: BaseException) -> BaseException | None:
    """The structural transport failure under `exc` (the SDK wraps it in APIConnectionError):
    a redirect loop, an unsupported scheme or a bad URL; else None."""
    structural = (sdk_httpx.TooManyRedirects, sdk_httpx.UnsupportedProtocol, sdk_httpx.InvalidURL)
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, structural):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def retry_after_s(exc: BaseException) -> float | None:
    """The wait the server asked for (`retry-after-ms`, `Retry-After` in seconds or as an HTTP
    date) on the response `exc` carries, in seconds; None when it asked for none."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    millis, value = headers.get("retry-after-ms"), headers.get("retry-after")
    for text, scale in ((millis, 1000.0), (value, 1.0)):
        if text is None:
            continue
        try:
            return max(0.0, float(text) / scale)
        except ValueError:
            continue
    try:
        when = email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def is_transient(exc: BaseException) -> bool:
    """429, transient 5xx, timeouts and connection errors are worth retrying; nothing else is
    (a 5xx whose body is a request-validation error is the request's fault; a redirect loop or
    an oversized reply would come back the same)."""
    if isinstance(exc, ReplyTooLarge) or transport_cause(exc) is not None:
        return False
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, TimeoutError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return (exc.status_code == 429 or exc.status_code >= 500) and not is_structural(exc)
    return False


def waits_too_long(exc: BaseException, cfg: LLMConfig) -> bool:
    """Whether the server asked for a longer wait than `retry_after_max_s`."""
    wait = retry_after_s(exc)
    return wait is not None and wait > cfg.retry_after_max_s


def stop_reason(exc: BaseException, cfg: LLMConfig) -> EndpointError | None:
    """The error that stops the run after `exc`, when no request can succeed soon: a structural
    transport failure or a Retry-After past the bound; None otherwise."""
    where = f"{cfg.base_url or 'the endpoint'} (model {cfg.model})"
    cause = transport_cause(exc)
    if isinstance(cause, sdk_httpx.TooManyRedirects):
        last = getattr(getattr(cause, "request", None), "url", "?")
        return EndpointError(redact(
            f"{where} redirected more than {MAX_REDIRECTS} times (a redirect loop; last to "
            f"{last}); not retried: check base_url"))
    if cause is not None:
        return EndpointError(redact(f"{where}: {type(cause).__name__}: {cause}; not retried: "
                                    "check base_url"))
    if is_transient(exc) and waits_too_long(exc, cfg):
        return EndpointError(
            f"{where} asked to wait {retry_after_s(exc):.0f} s before the next request "
            f"(Retry-After), longer than retry_after_max_s ({cfg.retry_after_max_s:g} s): the "
            "run stops here; run the same command later to resume it")
    return None


class WaitForServer(wait_base):
    """The server's Retry-After when it sent one (the retry predicate keeps it within
    `retry_after_max_s`), else exponential backoff with jitter."""

    def __init__(self, cfg: LLMConfig) -> None:
        self.cap = cfg.retry_after_max_s
        self.backoff = wait_exponential_jitter(multiplier=cfg.backoff_initial_s,
                                               max=cfg.backoff_max_s,
                                               jitter=cfg.backoff_initial_s)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        asked = retry_after_s(exc) if exc is not None else None
        return self.backoff(retry_state) if asked is None else min(asked, self.cap)


def endpoint_retrying(cfg: LLMConfig) -> AsyncRetrying:
    """Tenacity's loop for one call: transient faults retried `max_retries` times, each wait the
    server's Retry-After or backoff; the last error re-raised."""
    def retryable(exc: BaseException) -> bool:
        return is_transient(exc) and not waits_too_long(exc, cfg)

    return AsyncRetrying(retry=retry_if_exception(retryable),
                         stop=stop_after_attempt(cfg.max_retries + 1),
                         wait=WaitForServer(cfg), reraise=True)


def describe(exc: BaseException) -> str:
    """An attempt's error as stored and shown: status, type and message, keys redacted."""
    status = getattr(exc, "status_code", None)
    prefix = f"HTTP {status}: " if status else ""
    return redact(f"{prefix}{type(exc).__name__}: {exc}")[:2000]
