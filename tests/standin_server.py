"""A stand-in OpenAI-compatible chat-completions server for integration tests and benchmarks.

It answers ``POST /v1/chat/completions`` (non-streaming) and ``GET /v1/models`` the way an
OpenAI-compatible endpoint does, so ``langchain_openai.ChatOpenAI(base_url=server.base_url)``
talks to it over real HTTP. It runs in its own process (``StandinServer``) so its CPU does not
disturb the client being measured.

Roles. The role of a request is ``response_format.json_schema.name`` (``"plain"`` when the request
has no JSON schema). Each role has a *script*: a callable ``(request_body) -> dict | str`` whose
result becomes the message content (a dict is serialized as JSON, a str is sent verbatim). Before
calling it the server adds ``request_body["_standin"] = {"role", "index", "choice"}``, where
``index`` counts that role's answered completions so far, so repeated samples can differ.

How an answer is chosen, first match wins:

1. ``role_sequences[role]``: a list of steps consumed one per request, in arrival order. A step is
   a JSON object (the answer), ``"script"`` (answer as rules 2-3 would, with no random fault), or
   a forced fault: ``"http_429"``, ``"http_500"``, ``"timeout"``, ``"malformed"``. When the list
   is used up the role falls through to the rules below, random faults included. Forced faults
   ignore ``fault_roles``.
2. ``role_responses[role]``: a JSON object (or str) answered every time, or a list of them
   answered in turn and cycled.
3. ``SCRIPTS[config.script][role]``. ``SCRIPTS["default"]`` scripts Kindling's Path A roles
   (generate, advocate, critic, judge, reflect). Add roles or sets with ``register_script`` in a
   module named in ``config.script_modules``; the server process imports those at start-up.

Faults. Per request, one draw from ``random.Random(seed)`` picks, with the configured rates
(summing to at most 1), ``http_429`` (with ``Retry-After: 0``), ``http_500``, ``timeout`` (sleep
``timeout_sleep_s`` then answer) or ``malformed`` (content that is not valid JSON). Only roles in
``fault_roles`` are eligible when it is set. ``latency_s`` delays every completion.

Control endpoints (no auth): ``GET /_stats`` (counts per role, outcome and status),
``GET /_requests`` (the request log), ``POST /_reset`` (clear log, counters, sequence and cycle
positions, re-seed) and ``POST /_config`` (merge a partial config, then reset).

Example::

    config = StandinConfig(latency_s=0.1, http_429=0.05, seed=7,
                           role_responses={"judge": [{"verdict": 1, "reason": "ok"}]},
                           role_sequences={"critic": ["http_500", "script"]})
    with StandinServer(config) as server:
        chat = ChatOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        ...
        assert server.stats()["by_role"]["critic"] == {"http_500": 1, "ok": 1}
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import random
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

try:
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - orjson is optional

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

    _loads = json.loads

Script = Callable[[dict[str, Any]], "dict[str, Any] | str"]
FAULTS = ("http_429", "http_500", "timeout", "malformed")
RESPONSE_START, RESPONSE_END = "<<<RESPONSE>>>", "<<<END>>>"
JUDGE_MIN_CHARS = 40  # the default judge passes a greeting longer than 39 characters


@dataclass
class StandinConfig:
    """How a stand-in server answers; JSON-serializable so it crosses the process boundary."""

    script: str = "default"  # name of the script set in SCRIPTS
    script_modules: list[str] = field(default_factory=list)  # imported by the server first
    role_responses: dict[str, Any] = field(default_factory=dict)  # role -> answer | [answers]
    role_sequences: dict[str, list[Any]] = field(default_factory=dict)  # role -> steps
    latency_s: float = 0.0  # non-blocking delay before every completion
    http_429: float = 0.0  # rate of 429 Too Many Requests (Retry-After: 0)
    http_500: float = 0.0  # rate of 500 Internal Server Error
    timeout: float = 0.0  # rate of answers delayed by timeout_sleep_s
    timeout_sleep_s: float = 30.0  # should exceed the client's timeout
    malformed: float = 0.0  # rate of content that is not valid JSON
    retry_after_s: float = 0.0  # the Retry-After header of 429 answers
    fault_roles: list[str] | None = None  # only these roles get random faults (None: all)
    seed: int = 0  # seeds the fault draws
    api_key: str | None = None  # when set, /v1 requires "Authorization: Bearer <api_key>"
    model: str = "standin"  # the model id reported by /v1/models and in completions
    record_bodies: bool = False  # keep request bodies in the /_requests log
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port

    def __post_init__(self) -> None:
        rates = [getattr(self, name) for name in FAULTS]
        if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"fault rates must lie in [0, 1] and sum to at most 1: {rates}")
        for role, steps in self.role_sequences.items():
            for step in steps:
                if isinstance(step, str) and step not in (*FAULTS, "script"):
                    raise ValueError(f"role_sequences[{role!r}]: unknown step {step!r}")

    def to_json(self) -> str:
        """Serialize for the server process."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> StandinConfig:
        """Parse a config; unknown keys are errors."""
        return cls(**json.loads(text))


# --------------------------------------------------------------------------- default scripts


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict))


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the task: the last user message holding the judged text, else the last one.

    A re-ask (the client's "that did not parse, try again" turn) follows the task message, so
    scripts answer the task as a real model reading the whole conversation would.
    """
    users = [message_text(m) for m in body.get("messages") or [] if m.get("role") == "user"]
    for text in reversed(users):
        if RESPONSE_START in text:
            return text
    return users[0] if users else ""


def candidate_text(body: dict[str, Any]) -> str:
    """The judged text: between the response markers in the last user message, else all of it."""
    text = last_user_text(body)
    start = text.find(RESPONSE_START)
    if start < 0:
        return text.strip()
    start += len(RESPONSE_START)
    end = text.find(RESPONSE_END, start)
    return text[start : end if end >= 0 else len(text)].strip()


def _digest(*parts: object) -> int:
    """A hash stable across processes (unlike ``hash``)."""
    data = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


_PHRASES = (
    "你好",
    "祝你今天心情愉快",
    "愿你的每一天都充满阳光",
    "新年快乐",
    "万事如意",
    "身体健康",
    "工作顺利",
    "阖家幸福",
    "前程似锦",
    "笑口常开",
    "心想事成",
    "平安喜乐",
)


def generate(body: dict[str, Any]) -> dict[str, Any]:
    """A Chinese greeting of 16-63 characters, a function of prompt, seed and sample index."""
    meta = body.get("_standin", {})
    seed = body.get("seed")
    sample = f"seed={seed}:{meta.get('choice', 0)}" if seed is not None else meta.get("index", 0)
    rng = random.Random(_digest(*(message_text(m) for m in body.get("messages") or []), sample))
    length, text = rng.randint(16, 63), ""
    while len(text) < length:
        text += rng.choice(_PHRASES) + "，"
    return {"text": text[: length - 1] + "！"}


def advocate(body: dict[str, Any]) -> dict[str, Any]:
    """Points in favour of the candidate."""
    n = len(candidate_text(body))
    return {"points": [f"The greeting is {n} characters long.", "It addresses the reader warmly."]}


def critic(body: dict[str, Any]) -> dict[str, Any]:
    """Points against the candidate."""
    n = len(candidate_text(body))
    short = "It is too short to carry much feeling." if n < JUDGE_MIN_CHARS else "It is long."
    return {"points": [short, "It relies on stock phrases."]}


def judge(body: dict[str, Any]) -> dict[str, Any]:
    """Verdict 1 iff the candidate is longer than 39 characters."""
    n = len(candidate_text(body))
    verdict = int(n >= JUDGE_MIN_CHARS)
    return {"verdict": verdict, "reason": f"{n} characters; needs at least {JUDGE_MIN_CHARS}."}


_INITIAL_VERDICT = re.compile(r"initial_verdict:\s*\**\s*([01])")


def reflect(body: dict[str, Any]) -> dict[str, Any]:
    """Keeps the last verdict after ``initial_verdict:`` (else judges afresh); never overturns."""
    found = _INITIAL_VERDICT.findall(last_user_text(body))
    verdict = int(found[-1]) if found else judge(body)["verdict"]
    return {"verdict": verdict, "reason": "The initial verdict stands.", "overturned": False}


def plain(body: dict[str, Any]) -> str:
    """Plain-text answer for requests without a JSON schema."""
    return str(generate(body)["text"])


SCRIPTS: dict[str, dict[str, Script]] = {
    "default": {
        "generate": generate,
        "advocate": advocate,
        "critic": critic,
        "judge": judge,
        "reflect": reflect,
        "plain": plain,
    },
}


def register_script(name: str, roles: dict[str, Script], inherit: str | None = "default") -> None:
    """Register script set ``name``: ``roles`` over a copy of set ``inherit`` (if given)."""
    base = dict(SCRIPTS[inherit]) if inherit else {}
    SCRIPTS[name] = {**base, **roles}


# --------------------------------------------------------------------------- server state


class NoScript(LookupError):
    """No script or scripted response answers this role."""


@dataclass(slots=True)
class Plan:
    """What the server does with one completion request."""

    outcome: str  # "ok", a fault name, "no_script" or "script_error"
    status: int
    contents: list[str]  # one message content per choice; empty for HTTP errors


class StandinState:
    """The log, counters, sequence and cycle positions and fault RNG of one server."""

    def __init__(self, config: StandinConfig) -> None:
        self.config = config
        self.in_flight = 0  # requests being answered now; survives resets
        self.reset()

    def reset(self) -> None:
        """Forget every request and restart sequences, cycles and the fault RNG."""
        self.rng = random.Random(self.config.seed)
        self.log: list[dict[str, Any]] = []
        self.by_role: dict[str, Counter[str]] = {}
        self.by_outcome: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.sequence_pos: Counter[str] = Counter()
        self.cycle_pos: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.max_in_flight = self.in_flight

    def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header passes the optional API-key check."""
        return self.config.api_key is None or header == f"Bearer {self.config.api_key}"

    def plan(self, role: str, body: dict[str, Any]) -> Plan:
        """Decide outcome and content of a completion request (in arrival order)."""
        step = self._next_step(role)
        fixed = step if isinstance(step, dict) else None
        fault = step if step in FAULTS else (self._draw_fault(role) if step is None else None)
        if fault in ("http_429", "http_500"):
            return Plan(fault, 429 if fault == "http_429" else 500, [])
        try:
            contents = self._contents(role, body, fixed)
        except NoScript:
            return Plan("no_script", 400, [])
        except Exception:  # a broken script: report it, answer 500
            logging.getLogger(__name__).exception("stand-in script for %r failed", role)
            return Plan("script_error", 500, [])
        if fault == "malformed":
            contents = [self._malform(c) for c in contents]
        return Plan(fault or "ok", 200, contents)

    def _next_step(self, role: str) -> Any:
        steps = self.config.role_sequences.get(role)
        pos = self.sequence_pos[role]
        if not steps or pos >= len(steps):
            return None
        self.sequence_pos[role] = pos + 1
        return steps[pos]

    def _draw_fault(self, role: str) -> str | None:
        cfg = self.config
        if cfg.fault_roles is not None and role not in cfg.fault_roles:
            return None
        u = self.rng.random()
        for name in FAULTS:
            u -= getattr(cfg, name)
            if u < 0:
                return name
        return None

    def _contents(self, role: str, body: dict[str, Any], fixed: Any) -> list[str]:
        contents = []
        for choice in range(int(body.get("n") or 1)):
            body["_standin"] = {"role": role, "index": self.answered[role], "choice": choice}
            answer = fixed if fixed is not None else self._answer(role, body)
            self.answered[role] += 1
            contents.append(answer if isinstance(answer, str) else _dumps(answer).decode())
        body.pop("_standin", None)
        return contents

    def _answer(self, role: str, body: dict[str, Any]) -> Any:
        if role in self.config.role_responses:
            answer = self.config.role_responses[role]
            if isinstance(answer, list):
                answer = answer[self.cycle_pos[role] % len(answer)]
                self.cycle_pos[role] += 1
            return answer
        script = SCRIPTS.get(self.config.script, {}).get(role)
        if script is None:
            raise NoScript(role)
        return script(body)

    def _malform(self, content: str) -> str:
        truncated = content[: max(1, len(content) // 2)]
        return self.rng.choice(
            [
                truncated,
                "I would rather not answer in JSON today.",
                f"Sure! Here it is: {truncated}",
            ]
        )

    def record(self, role: str, status: int, outcome: str, body: dict[str, Any] | None) -> None:
        """Log one request and count it."""
        entry: dict[str, Any] = {
            "t": time.time(),
            "role": role,
            "status": status,
            "outcome": outcome,
        }
        if self.config.record_bodies:
            entry["body"] = body
        self.log.append(entry)
        self.by_role.setdefault(role, Counter())[outcome] += 1
        self.by_outcome[outcome] += 1
        self.by_status[status] += 1

    def stats(self) -> dict[str, Any]:
        """Counts per role (by outcome), per outcome and per status, and in-flight figures."""
        return {
            "total": len(self.log),
            "by_role": {role: dict(c) for role, c in self.by_role.items()},
            "by_outcome": dict(self.by_outcome),
            "by_status": {str(s): n for s, n in self.by_status.items()},
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "first_t": self.log[0]["t"] if self.log else None,
            "last_t": self.log[-1]["t"] if self.log else None,
        }


# --------------------------------------------------------------------------- HTTP app


def role_of(body: dict[str, Any]) -> str:
    """``response_format.json_schema.name``, or ``"plain"`` without a JSON schema."""
    fmt = body.get("response_format")
    schema = fmt.get("json_schema") if isinstance(fmt, dict) else None
    name = schema.get("name") if isinstance(schema, dict) else None
    return str(name) if name else "plain"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialized with orjson when available."""
    return Response(_dumps(payload), status, headers, media_type="application/json")


def error_response(status: int, message: str, kind: str, **headers: str) -> Response:
    """An OpenAI-style error body."""
    error = {"message": message, "type": kind, "param": None, "code": kind}
    return json_response({"error": error}, status, headers or None)


def completion_payload(state: StandinState, body: dict[str, Any], contents: list[str]) -> Any:
    """An OpenAI ChatCompletion object with one choice per content."""
    prompt_chars = sum(len(message_text(m)) for m in body.get("messages") or [])
    completion_tokens = sum(len(c) for c in contents) // 4 + len(contents)
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": c, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
        for i, c in enumerate(contents)
    ]
    return {
        "id": f"chatcmpl-standin-{len(state.log)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or state.config.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_chars // 4 + 1,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_chars // 4 + 1 + completion_tokens,
        },
        "system_fingerprint": "standin",
    }


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
        body = _loads(await request.body())
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
            **{**dataclasses.asdict(state.config), **_loads(await request.body())}
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


# --------------------------------------------------------------------------- process


PORT_PREFIX = "STANDIN_PORT "
REPO_ROOT = Path(__file__).resolve().parents[1]


def load_scripts(config: StandinConfig) -> None:
    """Import ``config.script_modules`` and check that the script set exists."""
    for module in config.script_modules:
        importlib.import_module(module)
    if config.script not in SCRIPTS:
        raise ValueError(f"unknown script set {config.script!r}; known: {sorted(SCRIPTS)}")


def _http_protocol() -> str:
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def _exit_on_stdin_eof() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


def serve(config: StandinConfig, exit_on_stdin_eof: bool = False) -> None:
    """Serve until stopped; print ``STANDIN_PORT <port>`` on stdout once listening."""
    load_scripts(config)
    # proto=IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted sockets (else +40 ms/request)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(4096)
    print(f"{PORT_PREFIX}{sock.getsockname()[1]}", flush=True)
    os.dup2(2, 1)  # anything printed later goes to stderr: nobody reads the stdout pipe
    if exit_on_stdin_eof:  # the parent holds our stdin; it closing (or dying) stops us
        threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    uv_config = uvicorn.Config(
        build_app(config),
        loop="asyncio",
        http=_http_protocol(),
        lifespan="off",
        access_log=False,
        log_level="warning",
        backlog=4096,
        timeout_graceful_shutdown=1,
    )
    uvicorn.Server(uv_config).run(sockets=[sock])


class StandinServer:
    """A stand-in server in its own process.

    ``with StandinServer(StandinConfig(latency_s=0.1)) as server:`` then point the client at
    ``server.base_url``; read ``server.stats()``; script with ``server.reconfigure(...)``.
    """

    def __init__(self, config: StandinConfig | None = None, start_timeout_s: float = 30.0) -> None:
        self.config = config or StandinConfig()
        self.start_timeout_s = start_timeout_s
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Root URL (control endpoints live here)."""
        if self.port is None:
            raise RuntimeError("stand-in server is not running")
        return f"http://{self.config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    def start(self) -> Self:
        """Launch the server process and wait until it answers."""
        if self._proc is not None:
            raise RuntimeError("stand-in server already started")
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.standin_server",
                "--config",
                self.config.to_json(),
                "--exit-on-stdin-eof",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": path},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + self.start_timeout_s
            self.port = self._read_port(deadline)
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _read_port(self, deadline: float) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self._proc.stdout], [], [], left)[0]:
                break
            line = self._proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(
                    f"stand-in server exited with {self._proc.wait()} (its stderr says why)"
                )
            if line.startswith(PORT_PREFIX):
                return int(line[len(PORT_PREFIX) :])
        raise TimeoutError("stand-in server did not announce its port")

    def _wait_ready(self, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        while True:
            try:
                httpx.get(f"{self.base_url}/models", headers=headers, timeout=2.0)
                return
            except httpx.TransportError:
                if (
                    time.monotonic() > deadline
                    or self._proc is None
                    or self._proc.poll() is not None
                ):
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server process (idempotent)."""
        proc, self._proc, self.port = self._proc, None, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> Self:
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _control(self, method: str, path: str, payload: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}{path}", json=payload, timeout=10.0)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        """``GET /_stats``: ``total``, ``by_role`` {role: {outcome: n}}, ``by_outcome``,
        ``by_status`` {"200": n}, ``in_flight``, ``max_in_flight``, ``first_t``, ``last_t``."""
        return dict(self._control("GET", "/_stats"))

    def requests(self) -> list[dict[str, Any]]:
        """``GET /_requests``: one {t, role, status, outcome[, body]} per request, in order."""
        return list(self._control("GET", "/_requests")["requests"])

    def reset(self) -> None:
        """``POST /_reset``."""
        self._control("POST", "/_reset")

    def reconfigure(self, config: StandinConfig | None = None, **changes: Any) -> None:
        """``POST /_config``: switch to ``config`` (default: the current one) with ``changes``
        applied, in place (host and port stay), then reset log, counters and positions."""
        new = dataclasses.replace(config or self.config, **changes)
        fields = dataclasses.asdict(new)
        for fixed in ("host", "port"):
            fields.pop(fixed)
        self._control("POST", "/_config", fields)
        self.config = dataclasses.replace(new, host=self.config.host, port=self.config.port)


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.standin_server --config JSON``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", default="{}", help="a StandinConfig as JSON")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when stdin closes (the parent went away)",
    )
    args = parser.parse_args(argv)
    serve(StandinConfig.from_json(args.config), exit_on_stdin_eof=args.exit_on_stdin_eof)


if __name__ == "__main__":
    # Run the importable module, so plug-in script modules register into the same SCRIPTS.
    importlib.import_module("tests.standin_server").main()
