"""Candidates from the policy model for Path A's `generate_candidate` node, batched across items.

Items run concurrently, one per (query, sample). The first item of a query to ask queues the
query; queued queries are generated together (up to `batch_queries` per generate call, each with
all its `samples_per_query` samples), one call at a time in a worker thread while the debate of
other items goes on at the endpoint. Each item's sample is recorded as its `generate` agent call
and committed before the node hands it on; a resumed item reuses its stored sample.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from kindling.agents.curate.policy_backends import Completion, PolicyBackend
from kindling.agents.llm.caller import CallRecorder

LINGER_S = 0.02  # how long the first queued query waits for others to join its batch
ROLE = "generate"


class PolicySampleFailed(RuntimeError):
    """The policy could not write this item's candidate (the attempt is recorded)."""


@dataclass
class _Query:
    text: str
    future: asyncio.Future[tuple[list[Completion], float]]
    used: set[int] = field(default_factory=set)


class PolicySampler:
    """Batches the candidate requests of concurrent items into few generate calls."""

    def __init__(self, backend: PolicyBackend, recorder: CallRecorder, *, model_name: str,
                 samples_per_query: int, batch_queries: int, seed: int) -> None:
        self.backend, self.recorder, self.model_name = backend, recorder, model_name[:200]
        self.n, self.batch_queries, self.seed = samples_per_query, batch_queries, seed
        self._queries: dict[int, _Query] = {}
        self._queued: list[int] = []
        self._flusher: asyncio.Task[None] | None = None
        self.generate_calls = 0

    async def sample(self, item_key: str, query_id: int, query: str, sample_index: int) -> str:
        """This item's candidate: stored, or sample `sample_index` of its query's batch.

        Raises:
            PolicySampleFailed: generation raised, or the sample is blank.
        """
        stored = self.recorder.cached(item_key, ROLE)
        if stored is not None:
            return str(stored["text"])
        entry = self._queries.get(query_id)
        if entry is None:
            entry = _Query(query, asyncio.get_running_loop().create_future())
            self._queries[query_id] = entry
            self._queued.append(query_id)
            self._wake()
        try:
            completions, latency_s = await asyncio.shield(entry.future)
        except Exception as exc:
            self._forget(query_id, entry)  # a later item of this query generates afresh
            message = f"{type(exc).__name__}: {exc}"
            await self._record(item_key, query, None, 0.0, message)
            raise PolicySampleFailed(message) from exc
        self._used(query_id, entry, sample_index)
        done = completions[sample_index % len(completions)]
        error = None if done.text else f"blank sample ({done.finish_reason})"
        await self._record(item_key, query, done, latency_s, error)  # stored before it is used
        if error:
            raise PolicySampleFailed(error)
        return done.text

    def _used(self, query_id: int, entry: _Query, sample_index: int) -> None:
        entry.used.add(sample_index)
        if len(entry.used) >= self.n:  # every sample handed out: forget the query
            self._forget(query_id, entry)

    def _forget(self, query_id: int, entry: _Query) -> None:
        if self._queries.get(query_id) is entry:
            del self._queries[query_id]

    def _wake(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        """Generate queued queries in batches until none are queued."""
        await asyncio.sleep(LINGER_S)
        while self._queued:
            ids, self._queued = self._queued[:self.batch_queries], self._queued[self.batch_queries:]
            entries = [self._queries[i] for i in ids if i in self._queries]
            started = time.perf_counter()
            try:
                rows = await asyncio.to_thread(self.backend.complete, [e.text for e in entries],
                                               self.n, self.seed * 1_000_003 + ids[0])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting item
                for entry in entries:
                    entry.future.set_exception(exc)
                continue
            finally:
                self.generate_calls += 1
            latency = time.perf_counter() - started
            for entry, completions in zip(entries, rows, strict=True):
                entry.future.set_result((completions, latency))

    async def _record(self, item_key: str, query: str, done: Completion | None,
                      latency_s: float, error: str | None) -> None:
        ok = done is not None and error is None
        self.recorder.record({
            "item_key": item_key, "role": ROLE, "template": f"policy:{self.backend.name}",
            "template_hash": self.backend.template_hash, "principle_version_id": None,
            "model": self.model_name, "input": [{"role": "human", "content": query}],
            "raw_output": None if done is None else done.text, "reasoning": None,
            "parsed_output": {"text": done.text} if ok and done is not None else None,
            "latency_ms": round(latency_s * 1000, 2),
            "prompt_tokens": None if done is None else done.prompt_tokens,
            "completion_tokens": None if done is None else done.completion_tokens,
            "attempt": 1, "error": error,
        })
        await self.recorder.commit()

    async def aclose(self) -> None:
        """Wait for a generate call in progress (its thread cannot be stopped) and fail the rest."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        for entry in self._queries.values():
            if not entry.future.done():
                entry.future.cancel()
        self._queries.clear()
        self._queued.clear()

