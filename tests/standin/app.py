"""The stand-in's Starlette app: OpenAI-compatible endpoints and control endpoints."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .config import StandinConfig, dumps, loads
from .dialects import refusal
from .scripts import load_scripts, message_text
from .state import Plan, StandinState

ROLE_MARKERS = {
    "（Advocate）": "advocate", "（Critic）": "critic", "“正方”分析师": "advocate",
    "“反方”分析师": "critic", "祝福语质量的复核专家": "reflect", "擅长写中文祝福语的创作者": "generate",
    "祝福语质量评价师": "judge", "祝福语质量反思专家": "reflect", "（Detector）": "detect",
    "（Generator）": "generate_flawed", "（Reflector）": "reflect_error",
    "原则优化器": "revise_principles", "策略优化器": "revise_strategies",
}
"""Kindling's templates (both prompt sets) by a phrase of their first lines: the role of a
request that carries no role name (json_object and prompt modes), as a real server would not
know it either."""


def role_of(body: dict[str, Any]) -> str:
    """``response_format.json_schema.name``, a forced tool's name, the template a prompt comes
    from, or ``"plain"``."""
    fmt = body.get("response_format")
    schema = fmt.get("json_schema") if isinstance(fmt, dict) else None
    name = schema.get("name") if isinstance(schema, dict) else None
    if not name and body.get("tools"):
        name = (body["tools"][0].get("function") or {}).get("name")
    if not name:
        first = next((message_text(m) for m in body.get("messages") or []), "")[:200]
        name = next((role for marker, role in ROLE_MARKERS.items() if marker in first), None)
    return str(name) if name else "plain"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialized with orjson when available."""
    return Response(dumps(payload), status, headers, media_type="application/json")


def error_response(status: int, message: str, kind: str, **headers: str) -> Response:
    """An OpenAI-style error body."""
    error = {"message": message, "type": kind, "param": None, "code": kind}
    return json_response({"error": error}, status, headers or None)


def completion_payload(state: StandinState, body: dict[str, Any], contents: list[str]) -> Any:
    """An OpenAI ChatCompletion object with one choice per content."""
    prompt_chars = sum(len(message_text(m)) for m in body.get("messages") or [])
    completion_tokens = sum(len(c) for c in contents) // 4 + len(contents)
    choices = [shape_choice(state, body, i, c) for i, c in enumerate(contents)]
    return {
        "id": f"chatcmpl-standin-{len(state.log)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or state.config.model,
        "choices": choices,
        "usage": usage(state, prompt_chars // 4 + 1, completion_tokens),
        "system_fingerprint": "standin",
    }


def usage(state: StandinState, prompt: int, completion: int) -> dict[str, Any]:
    """The answer's usage; with `cached_tokens` set, the cache hits as the dialect reports them."""
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}
    if state.config.cached_tokens is not None:
        hit = min(state.config.cached_tokens, prompt)
        if state.config.dialect == "deepseek":
            out |= {"prompt_cache_hit_tokens": hit, "prompt_cache_miss_tokens": prompt - hit}
        else:
            out["prompt_tokens_details"] = {"cached_tokens": hit}
    return out


def shape_choice(state: StandinState, body: dict[str, Any], index: int, content: str) -> Any:
    """One choice as the dialect answers: blank content, reasoning, a forced tool call."""
    cfg = state.config
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    finish = "stop"
    if cfg.blank and state.rng.random() < cfg.blank:
        message["content"] = "\n  "
    if cfg.reasoning_only and state.rng.random() < cfg.reasoning_only:
        message["content"], finish = "", "length"
        message["reasoning_content"] = "嗯，让我想一想这条祝福语……" * 40
    elif cfg.reasoning:
        message["reasoning_content"] = "先想一想：这条祝福语是否贴合场景。"
    tool_choice = body.get("tool_choice")
    if isinstance(tool_choice, dict) and body.get("tools"):
        name = (tool_choice.get("function") or {}).get("name")
        message["tool_calls"] = [{"id": f"call_{index}", "type": "function",
                                  "function": {"name": name, "arguments": content}}]
        message["content"], finish = None, "tool_calls"
    return {"index": index, "message": message, "logprobs": None, "finish_reason": finish}


def _plan_error(plan: Plan, role: str, retry_after_s: float) -> Response:
    if plan.outcome == "http_429":
        return error_response(
            429,
            "Rate limit reached (stand-in).",
            "rate_limit_exceeded",
            **{"Retry-After": f"{retry_after_s:g}"},
        )
    if plan.outcome == "no_script":
        return error_response(400, f"stand-in has no script for role {role!r}", "no_script")
    return error_response(500, "Internal server error (stand-in).", "server_error")


async def chat_completions(request: Request) -> Response:
    """``POST /v1/chat/completions``: scripted answer, after latency and faults."""
    state: StandinState = request.app.state.standin
    try:
        body = loads(await request.body())
        role = role_of(body)
    except (ValueError, TypeError, AttributeError):
        state.record("-", 400, "bad_request", None)
        return error_response(400, "request body is not a JSON object", "invalid_request_error")
    if not state.authorized(request.headers.get("authorization")):
        state.record(role, 401, "unauthorized", body)
        return error_response(401, "Incorrect API key provided.", "invalid_api_key")
    if body.get("stream"):
        state.record(role, 400, "bad_request", body)
        return error_response(400, "the stand-in does not stream", "invalid_request_error")
    refused = refusal(state.config.dialect, body)
    if refused is not None:
        status, message, kind = refused
        state.record(role, status, "refused_format", body)
        state.delivered += 1
        return error_response(status, message, kind)
    limit = state.config.limit_in_flight
    if limit is not None and state.in_flight >= limit:
        state.record(role, 429, "http_429", body)
        state.delivered += 1
        return error_response(429, "Rate limit reached (stand-in, too many in flight).",
                              "rate_limit_exceeded", **{"Retry-After": "0"})
    plan = state.plan(role, body)
    state.record(role, plan.status, plan.outcome, body)
    return await _deliver(state, role, body, plan)


async def _deliver(state: StandinState, role: str, body: dict[str, Any], plan: Plan) -> Response:
    cfg = state.config
    state.in_flight += 1
    state.max_in_flight = max(state.max_in_flight, state.in_flight)
    try:
        if cfg.latency_s > 0:
            await asyncio.sleep(cfg.latency_s)
        if plan.outcome == "timeout":
            await asyncio.sleep(cfg.timeout_sleep_s)
        if cfg.stall_after is not None and state.delivered >= cfg.stall_after:
            await asyncio.sleep(3600)  # stalled: never answered (a kill -9 test's fixed point)
        state.delivered += 1
        if plan.status != 200:
            return _plan_error(plan, role, cfg.retry_after_s)
        return json_response(completion_payload(state, body, plan.contents))
    finally:
        state.in_flight -= 1


async def list_models(request: Request) -> Response:
    """``GET /v1/models``."""
    state: StandinState = request.app.state.standin
    if not state.authorized(request.headers.get("authorization")):
        return error_response(401, "Incorrect API key provided.", "invalid_api_key")
    model = {"id": state.config.model, "object": "model", "created": 0, "owned_by": "standin"}
    return json_response({"object": "list", "data": [model]})


async def get_stats(request: Request) -> Response:
    """``GET /_stats``."""
    return json_response(request.app.state.standin.stats())


async def get_requests(request: Request) -> Response:
    """``GET /_requests``: the request log (with bodies when ``record_bodies``)."""
    return json_response({"requests": request.app.state.standin.log})


async def post_reset(request: Request) -> Response:
    """``POST /_reset``."""
    request.app.state.standin.reset()
    return json_response({"ok": True})


async def post_config(request: Request) -> Response:
    """``POST /_config``: merge the given fields into the config, then reset."""
    state: StandinState = request.app.state.standin
    try:
        config = StandinConfig(
            **{**dataclasses.asdict(state.config), **loads(await request.body())}
        )
        load_scripts(config)
    except (TypeError, ValueError, ImportError) as exc:
        return error_response(400, str(exc), "invalid_config")
    state.config = config
    state.reset()
    return json_response(dataclasses.asdict(config))


def build_app(config: StandinConfig) -> Starlette:
    """The Starlette app of one stand-in server."""
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/_stats", get_stats, methods=["GET"]),
            Route("/_requests", get_requests, methods=["GET"]),
            Route("/_reset", post_reset, methods=["POST"]),
            Route("/_config", post_config, methods=["POST"]),
        ]
    )
    app.state.standin = StandinState(config)
    return app
