"""Writes Path A outcomes: one verdict per (run, item), generated candidates, item status."""

from __future__ import annotations

import asyncio
from typing import Any

from kindling.store.calls import CallLog
from kindling.store.db import Store
from kindling.store.models import Response, RunItem, Verdict, text_hash
from kindling.store.upsert import insert_ignore
from sqlalchemy import select, update


class VerdictWriter:
    """The curate graph's sink: persists an item's outcome and closes the item in one transaction.

    `persist_soon` (the graph's persist node) writes the items that end in the same turn of the
    event loop in one transaction, as `CallLog.commit` does for agent calls.
    """

    def __init__(self, store: Store, run_id: int, generator_model: str | None,
                 calls: CallLog) -> None:
        self.store, self.run_id, self.generator_model = store, run_id, generator_model
        self.calls = calls
        self._queued: list[tuple[dict[str, Any], asyncio.Future[int]]] = []

    def persist(self, state: dict[str, Any]) -> int:
        """Insert the verdict (idempotent: a second persist of the item keeps the first)."""
        return self.persist_all([state])[0]

    async def persist_soon(self, state: dict[str, Any]) -> int:
        """`persist`, in one transaction with the other items that end in this turn."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._queued.append((state, future))
        if len(self._queued) == 1:  # the first of this turn: write them all on the next one
            loop.call_soon(self._write_queued)
        return await future

    def _write_queued(self) -> None:
        batch, self._queued = self._queued, []
        try:
            ids = self.persist_all([state for state, _ in batch])
        except Exception as exc:  # noqa: BLE001 - each waiting item sees the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), verdict_id in zip(batch, ids, strict=True):
            if not future.done():  # an item cancelled meanwhile still has its verdict stored
                future.set_result(verdict_id)

    def persist_all(self, states: list[dict[str, Any]]) -> list[int]:
        """Verdicts of several items, with every queued agent call, in one transaction."""
        with self.store.session() as s:
            self.calls.flush(s.connection())  # the items' attempts land with their verdicts
            return [self._persist_one(s, state) for state in states]

    def _persist_one(self, s: Any, state: dict[str, Any]) -> int:
        ok = state.get("final_verdict") is not None
        response_id = self._judged_response(s, state)
        insert_ignore(s, Verdict, [{
            "run_id": self.run_id, "item_key": state["item_key"],
            "query_id": state["query_id"], "response_id": response_id,
            "status": "ok" if ok else "failed",
            "initial_verdict": state.get("initial_verdict"),
            "final_verdict": state.get("final_verdict"),
            "judge_reason": state.get("judge_reason"),
            "reflect_reason": state.get("reflect_reason"),
            "pros": state.get("pros", []), "cons": state.get("cons", []),
            "error": "; ".join(state.get("errors", [])) or None,
        }])
        s.execute(
            update(RunItem)
            .where(RunItem.run_id == self.run_id, RunItem.item_key == state["item_key"])
            .values(status="done" if ok else "failed", response_id=response_id)
        )
        return s.scalars(select(Verdict.id).where(
            Verdict.run_id == self.run_id, Verdict.item_key == state["item_key"])).one()

    def _judged_response(self, s: Any, state: dict[str, Any]) -> int | None:
        """The response the judge saw: the item's own, or the candidate text when it was
        generated or when a stepped run's edit changed the item's text (origin "edited")."""
        own = state.get("response_id")
        if own is None:
            return self._store_candidate(s, state, "llm", self.generator_model)
        text = state.get("candidate")
        stored = s.get(Response, own)
        if not text or stored is None or stored.text_hash == text_hash(text):
            return own
        return self._store_candidate(s, state, "edited", None)

    def _store_candidate(self, s: Any, state: dict[str, Any], origin: str,
                         model: str | None) -> int | None:
        text = state.get("candidate")
        if not text:
            return None
        digest = text_hash(text)
        insert_ignore(s, Response, [{
            "query_id": state["query_id"], "text": text, "text_hash": digest, "origin": origin,
            "model": model, "run_id": self.run_id,
        }])
        return s.scalars(select(Response.id).where(
            Response.query_id == state["query_id"], Response.text_hash == digest)).one()
