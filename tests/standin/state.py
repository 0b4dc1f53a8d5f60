"""Server state: the request log and counters, and planning each answer (script or fault)."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .config import FAULTS, StandinConfig, dumps
from .scripts import SCRIPTS


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
        self.delivered = 0  # completion answers actually sent (any status)
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
            contents.append(answer if isinstance(answer, str) else dumps(answer).decode())
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
            "delivered": self.delivered,
            "first_t": self.log[0]["t"] if self.log else None,
            "last_t": self.log[-1]["t"] if self.log else None,
        }
