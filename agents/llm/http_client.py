"""The HTTP client every endpoint model talks through: a reply body has a size bound, redirects
are few, and the key stays with the origin the user named.

`bounded_async_client` is handed to `ChatOpenAI` as `http_async_client`. Its transport returns
`BoundedResponse`s, which stop reading a body (after decompression) past `MAX_REPLY_BYTES` and fail
that attempt with `ReplyTooLarge`, so a 50 MB answer costs at most the bound in memory. Redirects
are followed (an endpoint moved to https) up to `MAX_REDIRECTS`; httpx drops the Authorization
header on a redirect to another origin, so the key never goes where the user did not point.
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

# the httpx (openai < 3) or httpx2 (openai >= 3) the installed SDK runs on, as langchain-openai
# resolves it for objects handed to the SDK
from langchain_openai._compat import httpx as sdk_httpx

MAX_REPLY_BYTES = 2_000_000
"""The most bytes of one reply body read: an answer and its reasoning at the answer bound
(`answer_bounds.MAX_ANSWER_CHARS`), each character JSON-escaped (6 bytes), four times over."""

MAX_REDIRECTS = 5
CONNECTION_LIMITS = sdk_httpx.Limits(max_connections=1000, max_keepalive_connections=100)
"""As the SDK's own client has them."""


class ReplyTooLarge(RuntimeError):
    """A reply body passed `MAX_REPLY_BYTES`: reading stopped there and the attempt failed."""


class BoundedResponse(sdk_httpx.Response):
    """A response whose decoded body may not pass `limit` bytes (`aread()` and `read()` go
    through the byte iterators, so every way of reading the body is bounded)."""

    limit: int = MAX_REPLY_BYTES

    def _over(self, seen: int) -> None:
        if seen > self.limit:
            raise ReplyTooLarge(f"the reply from {self.request.url.copy_with(query=None)} passed "
                                f"{self.limit:,} bytes (MAX_REPLY_BYTES); reading stopped there")

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in super().aiter_bytes(chunk_size):
            seen += len(chunk)
            self._over(seen)
            yield chunk

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        seen = 0
        for chunk in super().iter_bytes(chunk_size):
            seen += len(chunk)
            self._over(seen)
            yield chunk


class BoundedTransport(sdk_httpx.AsyncBaseTransport):
    """An HTTP transport whose responses are `BoundedResponse`s."""

    def __init__(self, inner: sdk_httpx.AsyncBaseTransport, limit: int = MAX_REPLY_BYTES) -> None:
        self.inner, self.limit = inner, limit

    async def handle_async_request(self, request: sdk_httpx.Request) -> sdk_httpx.Response:
        reply = await self.inner.handle_async_request(request)
        bounded = BoundedResponse(reply.status_code, headers=reply.headers, stream=reply.stream,
                                  extensions=reply.extensions, request=request)
        bounded.limit = self.limit
        return bounded

    async def aclose(self) -> None:
        await self.inner.aclose()


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, ALL_PROXY, NO_PROXY, ...): a
    client with its own transport does not read them itself."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def bounded_async_client(base_url: str | None, timeout_s: float,
                         limit: int = MAX_REPLY_BYTES) -> sdk_httpx.AsyncClient:
    """An async client for the SDK: bounded bodies, at most `MAX_REDIRECTS` redirects, the SDK's
    connection limits, the environment's proxy for `base_url`."""
    url = base_url or "https://api.openai.com/v1"
    inner = sdk_httpx.AsyncHTTPTransport(limits=CONNECTION_LIMITS, proxy=environment_proxy(url))
    return sdk_httpx.AsyncClient(transport=BoundedTransport(inner, limit), timeout=timeout_s,
                                 follow_redirects=True, max_redirects=MAX_REDIRECTS,
                                 trust_env=False)
