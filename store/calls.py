"""Agent-call log: every attempt written as it happens; stored results reused on resume."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select

from store.db import Store
from store.models import AgentCall, utcnow


class CallLog:
    """Writes `agent_calls` rows for one run and answers 'is this call's result already stored?'.

    Results are looked up only for items that were attempted before (prefetched in one query when
    they are claimed again), so a fresh item costs no lookup.
    """

    def __init__(self, store: Store, run_id: int) -> None:
        self.store, self.run_id = store, run_id
        self._stored: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls_made = 0

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

    def cached(self, item_key: str, role: str) -> dict[str, Any] | None:
        return self._stored.get((item_key, role))

    def forget(self, item_key: str) -> None:
        """Drop prefetched results of a finished item."""
        for key in [k for k in self._stored if k[0] == item_key]:
            del self._stored[key]

    def record(self, row: dict[str, Any]) -> None:
        self.calls_made += 1
        with self.store.engine.begin() as conn:
            conn.execute(insert(AgentCall), [{**row, "run_id": self.run_id, "created_at": utcnow()}])
