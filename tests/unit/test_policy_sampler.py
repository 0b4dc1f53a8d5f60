"""PolicySampler: concurrent items' candidate requests batched into few generate calls, each
sample recorded before it is used, stored samples reused, failures recorded (test doubles below)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from kindling.agents.curate.policy_backends import Completion
from kindling.agents.curate.policy_sampler import PolicySampleFailed, PolicySampler


class CountingPolicyDouble:
    """Test double of a policy backend: sample i of query q is `q#i`; counts generate calls."""

    name, template_hash = "double", "0" * 16

    def __init__(self, *, fail: bool = False, blank: bool = False) -> None:
        self.calls: list[tuple[list[str], int, int]] = []
        self.fail, self.blank = fail, blank
        self.threads: set[int] = set()

    def complete(self, queries: list[str], n: int, seed: int) -> list[list[Completion]]:
        self.calls.append((list(queries), n, seed))
        self.threads.add(threading.get_ident())
        time.sleep(0.05)  # a generate call takes time: requests arriving meanwhile queue up
        if self.fail:
            raise RuntimeError("CUDA out of memory")
        return [[Completion("" if self.blank else f"{q}#{i}", 5, 3, "stop") for i in range(n)]
                for q in queries]


class MemoryRecorderDouble:
    """Test double of store.calls.CallLog: rows in a list, committed rows counted."""

    def __init__(self, stored: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self.committed = 0
        self.stored = stored or {}

    def cached(self, item_key: str, role: str) -> dict[str, Any] | None:
        return self.stored.get((item_key, role))

    def record(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    async def commit(self) -> None:
        self.committed = len(self.rows)


def sampler(backend: Any, recorder: Any, n: int = 3, batch: int = 4) -> PolicySampler:
    return PolicySampler(backend, recorder, model_name="runs/sft", samples_per_query=n,
                         batch_queries=batch, seed=7)


async def ask_all(s: PolicySampler, queries: int, n: int) -> list[Any]:
    jobs = [s.sample(f"q{q}s{i}", q, f"query{q}", i) for q in range(queries) for i in range(n)]
    return await asyncio.gather(*jobs, return_exceptions=True)


async def test_all_samples_of_a_query_and_several_queries_share_one_generate_call() -> None:
    backend, recorder = CountingPolicyDouble(), MemoryRecorderDouble()
    s = sampler(backend, recorder)
    texts = await ask_all(s, queries=6, n=3)
    assert texts == [f"query{q}#{i}" for q in range(6) for i in range(3)]
    assert [len(qs) for qs, _, _ in backend.calls] == [4, 2]  # 6 queries, 4 per call
    assert all(n == 3 for _, n, _ in backend.calls)
    assert backend.calls[0][2] == 7 * 1_000_003 + 0 and backend.calls[1][2] == 7 * 1_000_003 + 4
    assert threading.get_ident() not in backend.threads  # generation ran off the event loop
    assert len(recorder.rows) == 18 and recorder.committed == 18
    row = recorder.rows[0]
    assert row["role"] == "generate" and row["template"] == "policy:double"
    assert row["parsed_output"] == {"text": row["raw_output"]} and row["error"] is None
    assert row["model"] == "runs/sft" and row["input"][0]["content"].startswith("query")


async def test_a_stored_sample_is_reused_without_generating() -> None:
    backend = CountingPolicyDouble()
    recorder = MemoryRecorderDouble({("q1s2", "generate"): {"text": "kept from before"}})
    assert await sampler(backend, recorder).sample("q1s2", 1, "query1", 2) == "kept from before"
    assert backend.calls == [] and recorder.rows == []


async def test_a_generate_failure_fails_each_waiting_item_recorded_then_is_tried_again() -> None:
    backend, recorder = CountingPolicyDouble(fail=True), MemoryRecorderDouble()
    s = sampler(backend, recorder, n=2)
    results = await ask_all(s, queries=2, n=2)
    assert all(isinstance(r, PolicySampleFailed) and "out of memory" in str(r) for r in results)
    assert len(recorder.rows) == 4 and all("CUDA out of memory" in r["error"] for r in recorder.rows)
    assert all(r["parsed_output"] is None for r in recorder.rows)
    backend.fail = False
    assert await s.sample("q0s0", 0, "query0", 0) == "query0#0"  # not stuck on the failure
    assert len(backend.calls) == 2


async def test_a_blank_sample_is_recorded_as_an_error() -> None:
    backend, recorder = CountingPolicyDouble(blank=True), MemoryRecorderDouble()
    with pytest.raises(PolicySampleFailed, match="blank sample"):
        await sampler(backend, recorder, n=1).sample("q3s0", 3, "query3", 0)
    assert recorder.rows[0]["error"] == "blank sample (stop)"
    assert recorder.rows[0]["raw_output"] == "" and recorder.rows[0]["parsed_output"] is None
