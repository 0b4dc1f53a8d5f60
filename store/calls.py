"""Agent-call log: every attempt recorded before its result is used; stored results reused on resume.

`AgentLLM` queues each attempt with `record` and awaits `commit` before it hands the result on,
so no node, re-ask or budget count ever uses an answer that is not in `agent_calls`: after a
kill -9 the rows equal the requests answered, except for answers whose row was being written at
that instant. Attempts of calls that finish in the same turn of the event loop share one
transaction (a group commit), so concurrency does not multiply transactions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from kindling.store.db import Store
from kindling.store.models import AgentCall, utcnow
from sqlalchemy import Connection, func, insert, select


class CallLog:
    """Records `agent_calls` rows for one run and answers 'is this call's result already stored?'.

    Results are looked up only for items attempted before (prefetched in one query when they are
    claimed again), so a fresh item costs no lookup.
    """

    def __init__(self, store: Store, run_id: int, batch_size: int = 64, *,
                 remember: bool = True) -> None:
        self.store, self.run_id, self.batch_size = store, run_id, batch_size
        self.remember = remember  # keep this session's results for reuse (off for long services)
        self._stored: dict[tuple[str, str], dict[str, Any]] = {}
        self._pending: list[dict[str, Any]] = []
        self.calls_made = 0
        self.stored_before = 0

    def prefetch(self, item_keys: Iterable[str]) -> int:
        """Load successful results of earlier attempts for these items; returns how many."""
        keys = list(item_keys)
        if not keys:
            return 0
        stmt = (
            select(AgentCall.item_key, AgentCall.role, AgentCall.parsed_output)
            .where(AgentCall.run_id == self.run_id, AgentCall.item_key.in_(keys),
                   AgentCall.parsed_output.is_not(None))
            .order_by(AgentCall.id)
        )
        with self.store.session() as s:
            rows = s.execute(stmt).all()
        for item_key, role, parsed in rows:
            self._stored.setdefault((item_key, role), parsed)
        return len(rows)

    def prefetch_run(self) -> int:
        """Load every stored successful result of this run (for runs whose calls are few, e.g.
        the adversarial loop), and count the run's attempts so far (for call budgets)."""
        stmt = (
            select(AgentCall.item_key, AgentCall.role, AgentCall.parsed_output)
            .where(AgentCall.run_id == self.run_id, AgentCall.parsed_output.is_not(None))
            .order_by(AgentCall.id)
        )
        with self.store.session() as s:
            rows = s.execute(stmt).all()
            self.stored_before = s.scalar(
                select(func.count()).where(AgentCall.run_id == self.run_id)) or 0
        for item_key, role, parsed in rows:
            self._stored.setdefault((item_key, role), parsed)
        return len(rows)

    def cached(self, item_key: str, role: str) -> dict[str, Any] | None:
        return self._stored.get((item_key, role))

    def forget(self, item_key: str) -> None:
        """Drop prefetched results of a finished item."""
        for key in [k for k in self._stored if k[0] == item_key]:
            del self._stored[key]

    def record(self, row: dict[str, Any]) -> None:
        """Queue one attempt; written with the next flush."""
        self.calls_made += 1
        if self.remember and row.get("parsed_output") is not None:  # later asks reuse it
            self._stored.setdefault((row["item_key"], row["role"]), row["parsed_output"])
        self._pending.append({**row, "run_id": self.run_id, "created_at": utcnow()})
        if len(self._pending) >= self.batch_size:
            self.flush()

    async def commit(self) -> None:
        """Write every queued attempt before returning; attempts queued meanwhile by other calls
        (they run while this one yields once) go into the same transaction."""
        if not self._pending:
            return
        await asyncio.sleep(0)
        self.flush()

    def flush(self, conn: Connection | None = None) -> None:
        """Write queued attempts, in the caller's transaction when one is given."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        if conn is not None:
            conn.execute(insert(AgentCall), rows)
            return
        with self.store.engine.begin() as own:
            own.execute(insert(AgentCall), rows)


def call_record(call: AgentCall) -> dict[str, Any]:
    """An agent call as its transcript: role, template, prompt input, raw and parsed output."""
    return {"id": call.id, "item_key": call.item_key, "role": call.role,
            "template": call.template, "model": call.model, "attempt": call.attempt,
            "principle_version_id": call.principle_version_id, "input": call.input,
            "raw_output": call.raw_output, "reasoning": call.reasoning,
            "parsed_output": call.parsed_output,
            "latency_ms": round(call.latency_ms, 1), "prompt_tokens": call.prompt_tokens,
            "cached_tokens": call.cached_tokens, "completion_tokens": call.completion_tokens, "error": call.error,
            "created_at": call.created_at.isoformat(timespec="seconds")}


def calls_after(store: Store, run_id: int, after_id: int = 0,
                item_key: str | None = None) -> list[dict[str, Any]]:
    """A run's agent-call attempts with id above `after_id` (one item's, when named), oldest first."""
    stmt = select(AgentCall).where(AgentCall.run_id == run_id, AgentCall.id > after_id)
    if item_key is not None:
        stmt = stmt.where(AgentCall.item_key == item_key)
    with store.session() as s:
        return [call_record(c) for c in s.scalars(stmt.order_by(AgentCall.id)).all()]
