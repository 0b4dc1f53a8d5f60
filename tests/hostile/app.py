"""The hostile server's Starlette app: one OpenAI-like endpoint per behaviour, chosen by the first
path segment (`http://127.0.0.1:PORT/<behaviour>/v1`), and a log of what every request carried.

Behaviours (POST .../chat/completions; GET .../models lists one model):
- `answer`: a valid answer for every role, echoing nothing;
- `echo_answer`: a valid answer whose every text, and its reasoning, holds the caller's key;
- `echo400` / `echo401`: the key echoed in a 400 / 401 error ("Incorrect API key provided: …");
- `trickle`: headers, then one byte every `TRICKLE_EVERY_S` seconds, never finishing;
- `redirect_loop`: a 307 to itself, forever;
- `cross_origin`: a 307 to `answer` on the server's other port (another origin);
- `retry_after` / `retry_after_date`: 429 with `Retry-After: 3600` (seconds / an HTTP date);
- `retry_after_then_answer`: the first `RETRY_AFTER_FIRST` requests as `retry_after`, then `answer`;
- `huge`: a 50 MB answer, streamed; `big`: a 300,000-character answer and reasoning (under
  the client's byte bound, over the answer bound); `empty`: a blank answer.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

TRICKLE_EVERY_S = 0.2
HUGE_BYTES = 50 * 1024 * 1024
BIG_CHARS = 300_000
RETRY_AFTER_FIRST = 1
MODEL = "hostile"


class Log:
    """What each request carried: behaviour, path, the port it came in on, its Authorization."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def add(self, request: Request, behaviour: str) -> int:
        """Note `request`; returns how many requests this behaviour has had (this one included)."""
        self.requests.append({"behaviour": behaviour, "path": request.url.path,
                              "port": request.url.port,
                              "authorization": request.headers.get("authorization")})
        return sum(r["behaviour"] == behaviour for r in self.requests)


def caller_key(request: Request) -> str:
    """The key the caller sent (what a careless server echoes)."""
    return request.headers.get("authorization", "").removeprefix("Bearer ").strip()


def universal_answer(text: str) -> dict[str, Any]:
    """One JSON object every Kindling role parses (their schemas ignore extra fields)."""
    return {"points": [{"point": f"亮点 {text}", "reason": f"因为 {text}"}],
            "verdict": 1, "reason": f"理由 {text}", "overturned": False,
            "explanation": f"说明 {text}", "suggestion": None, "text": f"祝福 {text}"}


def completion(content: str, reasoning: str | None = None) -> dict[str, Any]:
    """An OpenAI chat completion with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return {"id": "chatcmpl-hostile", "object": "chat.completion", "created": int(time.time()),
            "model": MODEL, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def error(status: int, message: str, **headers: str) -> Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return JSONResponse(body, status, headers=headers or None)


async def trickle() -> AsyncIterator[bytes]:
    yield b"{"
    while True:
        await asyncio.sleep(TRICKLE_EVERY_S)
        yield b" "


async def huge_body() -> AsyncIterator[bytes]:
    head = json.dumps(completion("@"))
    before, after = head.split('"@"')
    yield (before + '"').encode()
    chunk = b"x" * (1024 * 1024)
    for _ in range(HUGE_BYTES // len(chunk)):
        yield chunk
    yield ('"' + after).encode()


def retry_after(date: bool) -> Response:
    wait = email.utils.formatdate(time.time() + 3600, usegmt=True) if date else "3600"
    return error(429, "rate limited: come back in an hour", **{"Retry-After": wait})


def build_app(ports: list[int]) -> Starlette:
    """The app; `ports` are the server's two listening ports (two origins)."""
    log = Log()

    async def chat(request: Request) -> Response:
        behaviour = request.path_params["behaviour"]
        count = log.add(request, behaviour)
        await request.body()
        key = caller_key(request)
        if behaviour == "answer":
            return JSONResponse(completion(json.dumps(universal_answer("好"), ensure_ascii=False)))
        if behaviour == "echo_answer":
            answer = json.dumps(universal_answer(key), ensure_ascii=False)
            return JSONResponse(completion(answer, reasoning=f"thinking about {key}"))
        if behaviour in ("echo400", "echo401"):
            return error(int(behaviour[-3:]), f"Incorrect API key provided: {key}. You can find "
                                              "your API key at https://example.invalid/keys")
        if behaviour == "trickle":
            return StreamingResponse(trickle(), media_type="application/json")
        if behaviour == "redirect_loop":
            return Response(status_code=307, headers={"Location": str(request.url)})
        if behaviour == "cross_origin":
            other = next(p for p in ports if p != request.url.port)
            target = request.url.replace(port=other, path=request.url.path.replace(
                "/cross_origin/", "/answer/"))
            return Response(status_code=307, headers={"Location": str(target)})
        if behaviour in ("retry_after", "retry_after_date"):
            return retry_after(date=behaviour.endswith("date"))
        if behaviour == "retry_after_then_answer":
            if count <= RETRY_AFTER_FIRST:
                return retry_after(date=False)
            return JSONResponse(completion(json.dumps(universal_answer("好"), ensure_ascii=False)))
        if behaviour == "huge":
            return StreamingResponse(huge_body(), media_type="application/json")
        if behaviour == "big":
            return JSONResponse(completion("长" * BIG_CHARS, reasoning="想" * BIG_CHARS))
        if behaviour == "empty":
            return JSONResponse(completion(""))
        return error(404, f"no behaviour {behaviour!r}")

    async def models(request: Request) -> Response:
        log.add(request, request.path_params["behaviour"] + ":models")
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def requests(_: Request) -> Response:
        return JSONResponse({"requests": log.requests})

    return Starlette(routes=[
        Route("/_requests", requests, methods=["GET"]),
        Route("/{behaviour}/v1/chat/completions", chat, methods=["POST"]),
        Route("/{behaviour}/v1/models", models, methods=["GET"]),
    ])
