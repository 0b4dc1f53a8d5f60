"""What an endpoint takes, before a long run: its models, each structured-output mode on the real
Detector prompt, a few latencies, and (bounded, gently) the concurrency where it starts answering 429.

Every probe goes through `AgentLLM` (the path the roles use) and is recorded as an agent call of
an `endpoint` run, so the check is stored like any run; the key is registered for redaction first.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from kindling.agents.judge.prompt import DetectPrompt
from kindling.agents.judge.schemas import DetectorVerdict
from kindling.agents.llm.caller import AgentCallFailed, AgentLLM, CallKey
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.dialects import MODES
from kindling.agents.llm.endpoints import build_chat_model, close_chat_model
from kindling.agents.llm.errors import EndpointError
from kindling.agents.llm.http_client import ReplyTooLarge, bounded_async_client, sdk_httpx
from kindling.agents.llm.redaction import redact, register_key
from kindling.agents.llm.retries import describe, within_deadline
from kindling.agents.task import Task
from kindling.store.calls import CallLog
from kindling.store.principle_io import load_principles

PROBE_QUERY = "给好朋友的生日祝福"
PROBE_RESPONSE = "亲爱的朋友，生日快乐！愿你新的一岁眼里有光、心中有爱，所求皆如愿。"


@dataclass
class ModeResult:
    mode: str
    ok: bool
    latency_ms: float | None = None
    error: str | None = None


@dataclass
class CheckReport:
    """What the check found; `best_mode` and `safe_concurrency` go into the config snippet."""

    models: list[str] | None = None
    models_error: str | None = None
    modes: list[ModeResult] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    concurrency: list[dict[str, Any]] = field(default_factory=list)
    first_429_at: int | None = None

    @property
    def best_mode(self) -> str | None:
        return next((m.mode for m in self.modes if m.ok), None)

    @property
    def safe_concurrency(self) -> int | None:
        ok = [level["in_flight"] for level in self.concurrency if not level["rate_limited"]]
        return max(ok) if ok else None

    def as_metrics(self) -> dict[str, Any]:
        return {"models": self.models, "models_error": self.models_error,
                "modes": [vars(m) for m in self.modes], "latencies_ms": self.latencies_ms,
                "concurrency": self.concurrency, "first_429_at": self.first_429_at,
                "best_mode": self.best_mode, "safe_concurrency": self.safe_concurrency}


async def list_models(cfg: LLMConfig, key: str) -> tuple[list[str] | None, str | None]:
    """The model ids `GET {base_url}/models` lists, or why it could not say (through the same
    bounded client and deadline as the roles' requests; what the server says is redacted)."""
    async with bounded_async_client(cfg.base_url, cfg.timeout_s) as client:
        try:
            reply = await within_deadline(client.get(
                f"{(cfg.base_url or '').rstrip('/')}/models",
                headers={"Authorization": f"Bearer {key}"}), cfg.timeout_s)
            reply.raise_for_status()
            return [redact(str(m.get("id")))[:200] for m in reply.json().get("data", [])], None
        except (sdk_httpx.HTTPError, ReplyTooLarge, TimeoutError, ValueError,
                AttributeError) as exc:
            return None, describe(exc)[:300]


class EndpointProbe:
    """Probes one endpoint; every request is an attempt of run `run_id`."""

    def __init__(self, cfg: LLMConfig, calls: CallLog, task: Task | None = None) -> None:
        """The probe is the Detector's prompt: greetings-zh's with a fixed greeting, or `task`'s
        with its judge's worked example, under the task's starting detector set."""
        from kindling.agents.task import resolve_task

        self.cfg, self.calls = cfg, calls
        item = (PROBE_QUERY, PROBE_RESPONSE) if task is None else (
            task.spec.judge.example.query, task.spec.judge.example.response)
        task = task or resolve_task()
        rules = list(load_principles(task.principles_ref("detector")).rules)
        self.prompt = DetectPrompt(task.prompts(), rules).render(*item)
        self._count = 0

    def _llm(self, mode: str) -> AgentLLM:
        cfg = self.cfg.model_copy(update={"structured_output": mode, "max_retries": 0,
                                          "parse_attempts": 1})
        return AgentLLM(build_chat_model(cfg), cfg, self.calls)

    async def _ask(self, llm: AgentLLM, mode: str) -> float:
        self._count += 1
        started = time.perf_counter()
        await llm.call(CallKey(f"probe:{mode}:{self._count}", "detect"), self.prompt,
                       DetectorVerdict)
        return (time.perf_counter() - started) * 1000

    async def mode(self, mode: str) -> ModeResult:
        """One request in `mode`."""
        llm = self._llm(mode)
        try:
            return ModeResult(mode, True, round(await self._ask(llm, mode), 1))
        except (AgentCallFailed, EndpointError) as exc:
            return ModeResult(mode, False, error=" ".join(str(exc).split())[:300])
        finally:
            await close_chat_model(llm.chat)

    async def latencies(self, mode: str, n: int) -> list[float]:
        """`n` sequential requests in `mode` (the ones that succeed)."""
        llm, found = self._llm(mode), []
        try:
            for _ in range(n):
                try:
                    found.append(round(await self._ask(llm, mode), 1))
                except AgentCallFailed:
                    continue
        finally:
            await close_chat_model(llm.chat)
        return found

    async def concurrency(self, mode: str, max_in_flight: int) -> tuple[list[dict], int | None]:
        """Levels 1, 2, 4, ... up to `max_in_flight` requests at once; stops at the first 429."""
        levels, level = [], 1
        llm = self._llm(mode)
        try:
            while level <= max_in_flight:
                outcomes = await asyncio.gather(*(self._ask(llm, mode) for _ in range(level)),
                                                return_exceptions=True)
                done = [o for o in outcomes if isinstance(o, float)]
                limited = any("HTTP 429" in str(o) for o in outcomes if isinstance(o, Exception))
                levels.append({"in_flight": level, "ok": len(done), "rate_limited": limited,
                               "median_ms": round(statistics.median(done), 1) if done else None})
                if limited:
                    return levels, level
                level *= 2
        finally:
            await close_chat_model(llm.chat)
        return levels, None


async def check_endpoint(cfg: LLMConfig, key: str, calls: CallLog, *, samples: int = 3,
                         max_in_flight: int = 16, task: Task | None = None) -> CheckReport:
    """Models, every mode, latencies and the 429 concurrency of one endpoint."""
    register_key(cfg.api_key_env, key)
    report = CheckReport()
    report.models, report.models_error = await list_models(cfg, key)
    probe = EndpointProbe(cfg, calls, task)
    for mode in MODES:
        report.modes.append(await probe.mode(mode))
    best = report.best_mode
    if best is not None:
        report.latencies_ms = await probe.latencies(best, samples)
        report.concurrency, report.first_429_at = await probe.concurrency(best, max_in_flight)
    return report
