"""Path A throughput against the stand-in server over a grid of offered loads.

For each cell of `grid.GRID` (latency per call 0.1 s and 1.5 s; 16, 64 and 256 calls in flight),
one run of generated candidates (5 LLM calls per item: generate, advocate, critic, judge, reflect;
twice as many items at once as calls in flight, so the slots stay full) is timed against the latency-bound ideal
(items × 5 × latency / in flight), beside bare `ChatOpenAI.ainvoke` making the same number of
calls at the same concurrency (the SDK floor). Targets: ratio >= 0.9 at 1.5 s; at the stress
point (0.1 s, 64 in flight) Kindling's own CPU per call no more than the SDK's, and at least half
the SDK's ratio. At the stress point it then profiles a run and splits its own CPU by category
(checkpoints, store, graph engine, templating, parsing, HTTP client, ...), and times the same job
with checkpoint durability "exit" and as 2 worker processes sharing the run.

    python benchmarks/curate_throughput.py [--waves 10] [--db-url URL] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
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
from kindling.agents.curate.config import CurateConfig, RetrievalConfig
from kindling.agents.curate.schemas import JudgeVerdict
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.role_output import response_format
from kindling.agents.task import task_prompts
from kindling.ingest.imports import import_paper_data
from kindling.store.db import Store
from kindling.store.principle_io import load_principles
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from benchmarks.grid import GRID, STRESS, Cell, print_grid, print_split, profile_split, verdicts
from kindling.services.curate import CurateRunner
from tests.standin import StandinConfig, StandinServer

CALLS_PER_ITEM = 5
KEY_ENV = "KINDLING_BENCH_KEY"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--waves", type=int, default=10,
                   help="calls per cell = waves × calls in flight")
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file in a temp dir")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "igniting"))
    p.add_argument("--workers", type=int, default=2,
                   help="at the stress point, also run the job as this many `kindling curate` "
                        "processes sharing the run")
    return p.parse_args()


async def sdk_floor(base_url: str, calls: int, in_flight: int) -> tuple[float, float]:
    """Bare ChatOpenAI.ainvoke with a judge-sized prompt: (wall s, CPU ms per call)."""
    prompt = task_prompts().render(
        "curate/kindling/judge", query="给妈妈的生日祝福", response="妈妈，生日快乐！" * 4,
        pros=["流畅自然"], cons=["略显空泛"], principles=load_principles("path_a_judge").rules)
    chat = ChatOpenAI(model="standin", base_url=base_url, api_key="bench", max_retries=0,
                      timeout=openai.Timeout(30.0))
    fmt = {"response_format": response_format("judge", JudgeVerdict)}
    slots = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with slots:
            await chat.ainvoke([HumanMessage(prompt.text)], extra_body=fmt)

    await one()  # warm-up: the connection pool
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await chat.root_async_client.close()
    return wall, 1000 * cpu / calls


def job(base_url: str, items: int, in_flight: int, durability: str = "async",
        offset: int = 0) -> CurateConfig:
    agents = LLMConfig(backend="openai", base_url=base_url, model="standin", api_key_env=KEY_ENV,
                       max_concurrency=in_flight, timeout_s=30)
    return CurateConfig(source="generate", dataset="random_query", limit=items, offset=offset,
                        samples_per_query=1, concurrency=2 * in_flight, llm=agents,
                        retrieval=RetrievalConfig(k=2), checkpoint_durability=durability)


async def curate_once(store: Store, cfg: CurateConfig,
                      profiler: cProfile.Profile | None = None) -> dict[str, float]:
    runner = CurateRunner(store, cfg, show_progress=False, new_run=True)
    cpu0, t0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    outcome = await runner.run()
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"items": outcome.counts.get("done", 0), "failed": outcome.counts.get("failed", 0),
            "calls": outcome.calls, "wall_s": wall, "cpu_ms_per_call": 1000 * cpu / outcome.calls}


def curate_processes(store: Store, cfg: CurateConfig, workers: int) -> dict[str, float]:
    """The same job run by N `kindling curate` processes sharing one run (items claimed by lease)."""
    cfg = cfg.model_copy(update={"llm": cfg.llm.model_copy(
        update={"max_concurrency": cfg.llm.max_concurrency // workers})})
    cfg_path = Path(tempfile.mkdtemp(prefix="kindling-bench-cfg-")) / "curate.yaml"
    cfg_path.write_text(cfg.model_dump_json(), encoding="utf-8")
    env = {**os.environ, "KINDLING_DB_URL": store.url}
    cmd = [sys.executable, "-m", "kindling", "curate", "--config", str(cfg_path), "--no-progress"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("a worker process failed")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    calls = (cfg.limit or 0) * CALLS_PER_ITEM
    return {"items": cfg.limit or 0, "failed": 0, "calls": calls, "wall_s": wall,
            "cpu_ms_per_call": 1000 * cpu / calls}


def measure(store: Store, server: StandinServer, latency_s: float, in_flight: int,
            waves: int) -> Cell:
    server.reconfigure(latency_s=latency_s)
    items = waves * in_flight // CALLS_PER_ITEM
    floor_wall, floor_cpu = asyncio.run(sdk_floor(server.base_url, items * CALLS_PER_ITEM,
                                                  in_flight))
    r = asyncio.run(curate_once(store, job(server.base_url, items, in_flight)))
    if r["failed"]:
        raise SystemExit(f"{r['failed']} items failed at {latency_s} s, {in_flight} in flight")
    ideal = items * CALLS_PER_ITEM * latency_s / in_flight
    return Cell(latency_s, in_flight, items * CALLS_PER_ITEM, ideal, r["wall_s"], floor_wall,
                r["cpu_ms_per_call"], floor_cpu)


def stress_variants(store: Store, server: StandinServer, args: argparse.Namespace,
                    floor_cpu: float) -> None:
    """At the stress point: durability exit, and worker processes sharing the run."""
    latency, in_flight = STRESS
    server.reconfigure(latency_s=latency)
    items = args.waves * in_flight // CALLS_PER_ITEM
    ideal_rate = in_flight / (CALLS_PER_ITEM * latency)
    runs = {"durability exit (one checkpoint per item)": asyncio.run(curate_once(
        store, job(server.base_url, items, in_flight, "exit")))}
    if args.workers > 1:
        runs[f"{args.workers} worker processes sharing the run (CPU incl. start-up)"] = \
            curate_processes(store, job(server.base_url, items, in_flight, offset=items),
                             args.workers)
    print("\nat the stress point (0.1 s, 64 in flight), other settings:")
    for label, r in runs.items():
        rate = r["items"] / r["wall_s"]
        print(f"  {label}: {rate:.1f} items/s, ratio {rate / ideal_rate:.3f}, CPU "
              f"{r['cpu_ms_per_call']:.2f} ms per call (own {r['cpu_ms_per_call'] - floor_cpu:.2f})")


def main() -> None:
    args = parse_args()
    os.environ[KEY_ENV] = "bench"
    tmp = tempfile.mkdtemp(prefix="kindling-bench-")
    store = Store(args.db_url or f"sqlite:///{tmp}/bench.db")
    import_paper_data(store, Path(args.data), code_version="bench")
    profiler = cProfile.Profile(time.process_time)
    with StandinServer(StandinConfig()) as server:
        cells = [measure(store, server, latency, in_flight, args.waves)
                 for latency, in_flight in GRID]
        stress = next(c for c in cells if (c.latency_s, c.in_flight) == STRESS)
        server.reconfigure(latency_s=STRESS[0])  # a further run, profiled (not the timed one)
        asyncio.run(curate_once(store, job(server.base_url, args.waves * STRESS[1] // CALLS_PER_ITEM,
                                           STRESS[1]), profiler))
        stress_variants(store, server, args, stress.floor_cpu_ms)
    print(f"\nstore: {store.dialect}   cores: {os.cpu_count()}   calls per cell: waves "
          f"({args.waves}) × in flight; default durability (a checkpoint after every step)")
    print_grid("Path A (curate) vs bare ChatOpenAI.ainvoke on the same calls", cells)
    for line in verdicts(cells, half_of_sdk=True):
        print("  " + line)
    print_split("where the curate run's CPU goes at the stress point (cProfile, own time)",
                profile_split(profiler))


if __name__ == "__main__":
    main()
