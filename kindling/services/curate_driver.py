"""Drives one worker's items of a curate run: claims them, runs the graph per item, renews the
lease, stops the run when the endpoint refuses its requests."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Protocol

from kindling.agents.curate.config import CurateConfig
from kindling.agents.curate.context import CurateContext
from kindling.agents.llm.errors import EndpointError
from kindling.checkpoints import unfinished
from kindling.store import queries, work
from kindling.store.calls import CallLog
from kindling.store.db import Store

if TYPE_CHECKING:
    from kindling.progress import RunProgress

class WorkerSlot(Protocol):
    """What the driver needs of the runner: its store, config, worker name and width."""

    store: Store
    cfg: CurateConfig
    worker: str

    def items_in_flight(self) -> int: ...


POLL_INTERVAL_S = 0.25  # how often the driver claims more items and renews its lease


class ItemDriver:
    """Keeps up to `concurrency` items in flight, claiming more as slots free up."""

    def __init__(self, slot: WorkerSlot, run_id: int, graph: Any, context: CurateContext,
                 calls: CallLog) -> None:
        self.runner, self.run_id, self.graph, self.context, self.calls = (
            slot, run_id, graph, context, calls)
        self.progress: RunProgress | None = None
        self.resumed = 0
        self._dead_checked = -float("inf")  # when items of dead local workers were last looked for
        self.crashes: list[str] = []

    async def drain(self) -> None:
        cfg, store = self.runner.cfg, self.runner.store
        inflight: set[asyncio.Task] = set()
        last_beat = time.monotonic()
        width = self.runner.items_in_flight()
        while True:
            free = width - len(inflight)
            if free >= max(1, width // 4):
                for item in self._claim(free):
                    inflight.add(asyncio.create_task(self._run_item(item)))
            if not inflight:
                return
            try:
                done, inflight = await asyncio.wait(
                    inflight, timeout=POLL_INTERVAL_S, return_when=asyncio.FIRST_COMPLETED)
            except BaseException:  # interrupted (Ctrl-C, SIGTERM): stop the items in flight,
                await self._stop(inflight)  # so their calls are recorded; give items back
                raise
            refused = next((t.exception() for t in done if t.exception() is not None), None)
            if refused is not None:  # the endpoint refused the request: stop, give items back
                await self._stop(inflight)
                raise refused
            if time.monotonic() - last_beat > cfg.lease_s / 3:
                work.renew_lease(store, self.run_id, self.runner.worker, cfg.lease_s)
                last_beat = time.monotonic()

    async def _stop(self, inflight: set[asyncio.Task]) -> None:
        """Cancel the items in flight and make every item this worker holds pending again."""
        for task in inflight:
            task.cancel()
        await asyncio.gather(*inflight, return_exceptions=True)
        work.release_items(self.runner.store, self.run_id, self.runner.worker)

    def _claim(self, n: int) -> list[dict]:
        store = self.runner.store
        lease_s = self.runner.cfg.lease_s
        reclaim = time.monotonic() - self._dead_checked > lease_s / 3  # first claim, then rarely
        claimed = work.claim_items(store, self.run_id, self.runner.worker, n, lease_s,
                                   reclaim_dead=reclaim)
        if reclaim:
            self._dead_checked = time.monotonic()
        if not claimed:
            return []
        self.calls.prefetch([c.item_key for c in claimed if c.attempts > 1])
        return item_inputs(store, claimed)

    async def _start_point(self, item: dict, attempts: int) -> tuple[dict | None, dict]:
        """Where an item's graph run starts: fresh, from its last checkpoint, or on a new thread."""
        thread = f"curate:{self.run_id}:{item['item_key']}"
        config = {"configurable": {"thread_id": thread}}
        if attempts == 1:
            return item, config
        self.resumed += 1
        snapshot = await self.graph.aget_state(config)
        if unfinished(snapshot):
            return None, config  # interrupted: continue from the last checkpoint
        if not snapshot.values:
            return item, config  # never checkpointed
        # the thread ran to its end (a failed item opened again): a fresh thread, cached calls reused
        return item, {"configurable": {"thread_id": f"{thread}:{attempts}"}}

    async def _run_item(self, item: dict) -> None:
        attempts = item.pop("attempts")
        try:
            start_from, config = await self._start_point(item, attempts)
            result = await self.graph.ainvoke(start_from, config, context=self.context,
                                              durability=self.runner.cfg.checkpoint_durability)
            ok = result.get("final_verdict") is not None
        except EndpointError:
            raise  # every item would fail the same way: the run stops (drain)
        except Exception as exc:  # noqa: BLE001 - a bug, not an LLM fault: record it, keep going
            message = f"{type(exc).__name__}: {exc}"
            self.crashes.append(f"{item['item_key']}: {message}")
            self.context.sink.persist({**item, "errors": [f"graph: {message}"]})
            ok = False
        self.calls.forget(item["item_key"])
        if self.progress is not None:
            self.progress.item_finished(ok)


def item_inputs(store: Store, claimed: list[work.ClaimedItem]) -> list[dict]:
    """The graph's input for each claimed item (texts looked up in one query each)."""
    qtexts, rtexts = queries.texts_for(
        store, {c.query_id for c in claimed}, {c.response_id for c in claimed if c.response_id})
    return [{
        "item_key": c.item_key, "query_id": c.query_id, "query": qtexts[c.query_id],
        "response_id": c.response_id, "candidate": rtexts.get(c.response_id),
        "sample_index": _sample_index(c.item_key), "attempts": c.attempts,
    } for c in claimed]


def _sample_index(item_key: str) -> int:
    return int(item_key.rsplit("s", 1)[1]) if item_key.startswith("q") else 0
