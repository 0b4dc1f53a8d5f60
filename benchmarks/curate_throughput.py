"""Path A throughput against the stand-in server: items/s vs the latency-bound ideal, CPU per call.

500 queries, one generated candidate each → 5 LLM calls per item (generate, advocate, critic,
judge, reflect), 100 ms latency per call, at most 64 calls in flight. The ideal is
64 / (5 × 0.1 s) = 128 items/s. Targets: ratio ≥ 0.8 (SQLite store), CPU ≤ 3 ms per LLM call.

It also measures, in the same process, the CPU that langchain-openai itself needs per call
(the SDK floor: ChatOpenAI.ainvoke on a judge-sized prompt, nothing else), so the project's own
share can be told apart from the HTTP client's. The run is measured twice: with the default
checkpoint durability (a LangGraph checkpoint after every step, steppable and replayable) and
with durability "exit" (one checkpoint per item; resume then rests on the stored agent calls).

    python benchmarks/curate_throughput.py [--items 500] [--db-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openai
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from agents.schemas import JudgeVerdict, response_format
from agents.templates import PromptLibrary, load_principles
from kindling.config import CurateConfig, LLMConfig, RetrievalConfig
from kindling.curate_runner import CurateRunner
from store.db import Store
from store.importers import import_paper_data
from tests.standin import StandinConfig, StandinServer

LATENCY_S, IN_FLIGHT, CALLS_PER_ITEM = 0.1, 64, 5
KEY_ENV = "KINDLING_BENCH_KEY"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--items", type=int, default=500)
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file in a temp dir")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "igniting"))
    p.add_argument("--item-concurrency", type=int, default=96)
    p.add_argument("--floor-calls", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2,
                   help="also run the same job as this many `kindling curate` processes sharing the run")
    return p.parse_args()


async def sdk_floor(base_url: str, calls: int) -> float:
    """CPU ms per call of bare ChatOpenAI.ainvoke with a judge-sized prompt, 64 in flight."""
    prompt = PromptLibrary().render(
        "curate/judge", query="给妈妈的生日祝福", response="妈妈，生日快乐！" * 4,
        pros=["流畅自然"], cons=["略显空泛"], principles=load_principles("path_a_judge").rules)
    chat = ChatOpenAI(model="standin", base_url=base_url, api_key="bench", max_retries=0,
                      timeout=openai.Timeout(10.0))
    fmt = {"response_format": response_format("judge", JudgeVerdict)}
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with slots:
            await chat.ainvoke([HumanMessage(prompt.text)], extra_body=fmt)

    cpu0 = time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    cpu = time.process_time() - cpu0
    await chat.root_async_client.close()
    return 1000 * cpu / calls


async def curate_once(store: Store, base_url: str, args: argparse.Namespace,
                      durability: str) -> dict[str, float]:
    agents = LLMConfig(backend="openai", base_url=base_url, model="standin", api_key_env=KEY_ENV,
                       max_concurrency=IN_FLIGHT, timeout_s=10)
    cfg = CurateConfig(source="generate", dataset="random_query", limit=args.items,
                       samples_per_query=1, concurrency=args.item_concurrency, agents=agents,
                       retrieval=RetrievalConfig(k=2), checkpoint_durability=durability)
    runner = CurateRunner(store, cfg, show_progress=False, new_run=True)
    cpu0, t0 = time.process_time(), time.perf_counter()
    outcome = await runner.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"items": outcome.counts.get("done", 0), "failed": outcome.counts.get("failed", 0),
            "calls": outcome.calls, "wall_s": wall, "cpu_ms_per_call": 1000 * cpu / outcome.calls}


def curate_processes(store: Store, base_url: str, args: argparse.Namespace) -> dict[str, float]:
    """The same job run by N `kindling curate` processes sharing one run (items claimed by lease)."""
    cfg = CurateConfig(
        source="generate", dataset="random_query", limit=args.items, offset=args.items,
        samples_per_query=1, concurrency=args.item_concurrency, retrieval=RetrievalConfig(k=2),
        agents=LLMConfig(backend="openai", base_url=base_url, model="standin", api_key_env=KEY_ENV,
                         max_concurrency=IN_FLIGHT // args.workers, timeout_s=10))
    cfg_path = Path(tempfile.mkdtemp(prefix="kindling-bench-cfg-")) / "curate.yaml"
    cfg_path.write_text(cfg.model_dump_json(), encoding="utf-8")
    env = {**os.environ, "KINDLING_DB_URL": store.url}
    cmd = [sys.executable, "-m", "kindling", "curate", "--config", str(cfg_path), "--no-progress"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL) for _ in range(args.workers)]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("a worker process failed")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    calls = args.items * CALLS_PER_ITEM
    return {"items": args.items, "failed": 0, "calls": calls, "wall_s": wall,
            "cpu_ms_per_call": 1000 * cpu / calls}


def report(label: str, r: dict[str, float], floor_ms: float) -> None:
    ideal = IN_FLIGHT / (CALLS_PER_ITEM * LATENCY_S)
    rate = r["items"] / r["wall_s"]
    own = r["cpu_ms_per_call"] - floor_ms
    print(f"\n[{label}]")
    print(f"  items done / failed : {r['items']} / {r['failed']}   LLM calls: {r['calls']}")
    print(f"  throughput          : {rate:.1f} items/s in {r['wall_s']:.1f} s (ideal {ideal:.0f})")
    print(f"  ratio to ideal      : {rate / ideal:.3f}   (target >= 0.8)")
    print(f"  CPU per LLM call    : {r['cpu_ms_per_call']:.2f} ms whole process; "
          f"project's own (minus SDK floor) {own:.2f} ms   (target <= 3 ms)")


def main() -> None:
    args = parse_args()
    os.environ[KEY_ENV] = "bench"
    tmp = tempfile.mkdtemp(prefix="kindling-bench-")
    store = Store(args.db_url or f"sqlite:///{tmp}/bench.db")
    import_paper_data(store, Path(args.data), code_version="bench")
    with StandinServer(StandinConfig(latency_s=LATENCY_S)) as server:
        floor = asyncio.run(sdk_floor(server.base_url, args.floor_calls))
        runs = {d: asyncio.run(curate_once(store, server.base_url, args, d))
                for d in ("async", "exit")}
        if args.workers > 1:
            runs["workers"] = curate_processes(store, server.base_url, args)
    print(f"store: {store.dialect}   cores: {os.cpu_count()}   "
          f"SDK floor (langchain-openai ainvoke alone): {floor:.2f} ms CPU per call")
    report("checkpoint after every step (default, durability=async)", runs["async"], floor)
    report("one checkpoint per item (durability=exit)", runs["exit"], floor)
    if "workers" in runs:
        report(f"{args.workers} worker processes sharing the run (default durability; CPU incl. "
               "start-up and model build)", runs["workers"], floor)


if __name__ == "__main__":
    main()
