"""The stand-in server's configuration, and the JSON codec its modules share."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

try:
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - orjson is optional

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

    loads = json.loads

FAULTS = ("http_429", "http_500", "timeout", "malformed")


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
    stall_after: int | None = None  # after this many answers, every further request hangs
    limit_in_flight: int | None = None  # 429 for a request arriving with this many in flight
    dialect: str = "openai"  # which server's request handling to imitate (see dialects.py)
    blank: float = 0.0  # rate of blank content (deepseek)
    reasoning: bool = False  # add reasoning_content to every answer (deepseek's reasoner)
    reasoning_only: float = 0.0  # rate of answers that spend max_tokens on thinking
    fault_roles: list[str] | None = None  # only these roles get random faults (None: all)
    seed: int = 0  # seeds the fault draws
    api_key: str | None = None  # when set, /v1 requires "Authorization: Bearer <api_key>"
    model: str = "standin"  # the model id reported by /v1/models and in completions
    cached_tokens: int | None = None  # prompt tokens reported as cache hits (at most the prompt's):
    # openai/llamacpp as usage.prompt_tokens_details.cached_tokens, deepseek as
    # usage.prompt_cache_hit_tokens and prompt_cache_miss_tokens (None: no cache fields)
    record_bodies: bool = False  # keep request bodies in the /_requests log
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port

    def __post_init__(self) -> None:
        from .dialects import DIALECTS

        if self.dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {self.dialect!r}; known: {DIALECTS}")
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
