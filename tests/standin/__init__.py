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

Layout: ``config`` (StandinConfig), ``scripts`` (SCRIPTS, register_script, the default roles),
``state`` (log, counters, answer planning), ``app`` (the Starlette app), ``process``
(``serve``, ``StandinServer``); ``python -m tests.standin --config JSON`` serves in the foreground.
"""

from .app import build_app, role_of
from .config import FAULTS, StandinConfig
from .process import StandinServer, main, serve
from .scripts import (
    JUDGE_MIN_CHARS,
    RESPONSE_END,
    RESPONSE_START,
    SCRIPTS,
    Script,
    advocate,
    candidate_text,
    critic,
    generate,
    judge,
    last_user_text,
    load_scripts,
    message_text,
    plain,
    reflect,
    register_script,
)
from .state import StandinState

__all__ = [
    "FAULTS",
    "JUDGE_MIN_CHARS",
    "RESPONSE_END",
    "RESPONSE_START",
    "SCRIPTS",
    "Script",
    "StandinConfig",
    "StandinServer",
    "StandinState",
    "advocate",
    "build_app",
    "candidate_text",
    "critic",
    "generate",
    "judge",
    "last_user_text",
    "load_scripts",
    "main",
    "message_text",
    "plain",
    "reflect",
    "register_script",
    "role_of",
    "serve",
]
