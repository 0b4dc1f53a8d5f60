"""Path A throughput against the stand-in server: items/s vs the latency-bound ideal, CPU per call.

500 queries, one generated candidate each → 5 LLM calls per item (generate, advocate, critic,
judge, reflect), 100 ms latency per call, at most 64 calls in flight. The ideal is
64 / (5 × 0.1 s) = 128 items/s. Targets: ratio ≥ 0.8 (SQLite store), CPU ≤ 3 ms per LLM call.

    python benchmarks/curate_throughput.py [--items 500] [--db-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kindling.config import CurateConfig, LLMConfig, RetrievalConfig
from kindling.curate_runner import CurateRunner
from store.db import Store
from store.importers import import_paper_data
from tests.standin_server import StandinConfig, StandinServer

LATENCY_S, IN_FLIGHT, CALLS_PER_ITEM = 0.1, 64, 5


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--items", type=int, default=500)
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file in a temp dir")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "igniting"))
    p.add_argument("--item-concurrency", type=int, default=96)
    return p.parse_args()


async def measure(store: Store, base_url: str, args: argparse.Namespace) -> dict[str, float]:
    agents = LLMConfig(backend="openai", base_url=base_url, model="standin",
                       api_key_env="KINDLING_BENCH_KEY", max_concurrency=IN_FLIGHT, timeout_s=10)
    cfg = CurateConfig(source="generate", dataset="random_query", limit=args.items,
                       samples_per_query=1, concurrency=args.item_concurrency, agents=agents,
                       retrieval=RetrievalConfig(k=2))
    runner = CurateRunner(store, cfg, show_progress=False, new_run=True)
    cpu0, t0 = time.process_time(), time.perf_counter()
    outcome = await runner.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    done = outcome.counts.get("done", 0)
    return {"items": done, "failed": outcome.counts.get("failed", 0), "calls": outcome.calls,
            "wall_s": wall, "cpu_s": cpu}


def main() -> None:
    args = parse_args()
    os.environ["KINDLING_BENCH_KEY"] = "bench"
    tmp = tempfile.mkdtemp(prefix="kindling-bench-")
    store = Store(args.db_url or f"sqlite:///{tmp}/bench.db")
    import_paper_data(store, Path(args.data), code_version="bench")
    with StandinServer(StandinConfig(latency_s=LATENCY_S)) as server:
        r = asyncio.run(measure(store, server.base_url, args))
    ideal = IN_FLIGHT / (CALLS_PER_ITEM * LATENCY_S)
    rate = r["items"] / r["wall_s"]
    print(f"store                : {store.dialect}")
    print(f"items done / failed  : {r['items']} / {r['failed']}   LLM calls: {r['calls']}")
    print(f"wall time            : {r['wall_s']:.2f} s")
    print(f"throughput           : {rate:.1f} items/s (ideal {ideal:.0f} items/s)")
    print(f"ratio to ideal       : {rate / ideal:.3f}   (target >= 0.8)")
    print(f"CPU per LLM call     : {1000 * r['cpu_s'] / max(r['calls'], 1):.2f} ms "
          f"(whole client process; target <= 3 ms)")


if __name__ == "__main__":
    main()
