"""Writes Path A outcomes: one verdict per (run, item), generated candidates, item status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from store.calls import CallLog
from store.db import Store
from store.models import Response, RunItem, Verdict, text_hash
from store.upsert import insert_ignore


class VerdictWriter:
    """The curate graph's sink: persists an item's outcome and closes the item in one transaction."""

    def __init__(self, store: Store, run_id: int, generator_model: str | None,
                 calls: CallLog) -> None:
        self.store, self.run_id, self.generator_model = store, run_id, generator_model
        self.calls = calls

    def persist(self, state: dict[str, Any]) -> int:
        """Insert the verdict (idempotent: a second persist of the item keeps the first)."""
        ok = state.get("final_verdict") is not None
        with self.store.session() as s:
            self.calls.flush(s.connection())  # the item's attempts land with its verdict
            response_id = state.get("response_id") or self._store_candidate(s, state)
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

    def _store_candidate(self, s: Any, state: dict[str, Any]) -> int | None:
        text = state.get("candidate")
        if not text:
            return None
        digest = text_hash(text)
        insert_ignore(s, Response, [{
            "query_id": state["query_id"], "text": text, "text_hash": digest, "origin": "llm",
            "model": self.generator_model, "run_id": self.run_id,
        }])
        return s.scalars(select(Response.id).where(
            Response.query_id == state["query_id"], Response.text_hash == digest)).one()
