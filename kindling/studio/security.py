"""Request checks for the studio: token auth, Host allow-list (DNS rebinding), same-origin writes.

The studio serves a store that may hold unpublished data, so it trusts nothing it did not mint:
- a token, when set, must come as `Authorization: Bearer T` or as the HttpOnly cookie that
  visiting `/?token=T` sets (compared in constant time);
- on a loopback bind only loopback host names are served, so a rebinding DNS name that points
  at 127.0.0.1 cannot read the pages;
- writes are JSON POSTs whose Origin (or Sec-Fetch-Site) says they come from the studio itself,
  so a page on another site cannot drive them from the user's browser, and whose body is at most
  `MAX_WRITE_BYTES` (read with that bound before any route sees it).
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "kindling_studio_token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_WRITE_BYTES = 1024 * 1024
"""Largest request body a write takes (a principle text is at most 50,000 characters)."""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def is_loopback(host: str) -> bool:
    """Whether a bind address or host name only reaches this machine."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """The name part of a Host header ("[::1]:8765" → "::1", "localhost:80" → "localhost")."""
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def token_ok(request: Request, token: str) -> bool:
    """Whether the request carries the token (Bearer header or cookie)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    offered = value.strip() if scheme.lower() == "bearer" else request.cookies.get(COOKIE, "")
    return secrets.compare_digest(offered.encode(), token.encode())


def same_origin(request: Request) -> bool:
    """Whether a write comes from a page of the studio itself (Origin or Sec-Fetch-Site)."""
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        return parts.scheme == request.url.scheme and parts.netloc == request.headers.get("host")
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _error(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status)


class StudioGuard:
    """ASGI middleware applying the module's checks to every HTTP request.

    Args:
        app: The wrapped application.
        token: Required token, or None for none (loopback use).
        allowed_hosts: Host names served (None: any, e.g. behind a token on 0.0.0.0).
    """

    def __init__(self, app: ASGIApp, token: str | None,
                 allowed_hosts: Collection[str] | None) -> None:
        self.app, self.token = app, token
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = self._refusal(request)
        if refused is not None:
            await refused(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        if request.method not in SAFE_METHODS:
            body = await _bounded_body(receive, MAX_WRITE_BYTES)
            if body is None:
                await _error(413, f"a write takes at most {MAX_WRITE_BYTES} bytes")(
                    scope, receive, send_with_headers)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, request: Request) -> Response | None:
        host = _host_name(request.headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return _error(400, f"host {host!r} is not served (open the studio by a loopback name)")
        if self.token is not None:
            offered = request.query_params.get("token")
            if request.url.path == "/" and offered is not None:
                return self._login(offered)
            if not token_ok(request, self.token):
                return _error(401, "a token is needed: open the URL printed by `kindling "
                                   "studio` or send `Authorization: Bearer <token>`")
        if request.method not in SAFE_METHODS:
            if not same_origin(request):
                return _error(403, "cross-origin write refused")
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return _error(415, "writes take JSON only (Content-Type: application/json)")
        return None

    def _login(self, offered: str) -> Response:
        assert self.token is not None
        if not secrets.compare_digest(offered.encode(), self.token.encode()):
            return _error(401, "wrong token")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
        return response


async def _bounded_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it passes `limit` bytes (the rest is not read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the route sees an empty body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then the server's own messages."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive
