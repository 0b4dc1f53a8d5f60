"""Principle-guided judge throughput against the stand-in server over a grid of offered loads.

For each cell of `grid.GRID` (latency per call 0.1 s and 1.5 s; 16, 64 and 256 calls in flight),
waves × in-flight distinct (query, response) items go through the async batch API (one Detector
call each), timed against the latency-bound ideal (items × latency / in flight), beside bare
`ChatOpenAI.ainvoke` making the same calls (the SDK floor). Targets: ratio >= 0.9 at 1.5 s; at the
stress point (0.1 s, 64 in flight) the judge's own CPU per call no more than the SDK's. At the
stress point a second pass over the same items must make no LLM call (all from the store's cache),
and a profile splits the first pass's CPU by category.

    python benchmarks/judge_throughput.py [--waves 8] [--db-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openai
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.prompt import ROLE, TEMPLATE
from kindling.agents.judge.schemas import DetectorVerdict
from kindling.agents.judge.service import JudgeService, build_judge_service, resolve_judge
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.role_output import response_format
from kindling.agents.task import task_prompts
from kindling.store.db import Store
from kindling.store.principle_io import load_principles
from kindling.store.work import get_or_create_run
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from benchmarks.grid import GRID, STRESS, Cell, print_grid, print_split, profile_split, verdicts
from tests.standin import StandinConfig, StandinServer

KEY_ENV = "KINDLING_BENCH_KEY"
PHRASES = ("生日快乐", "新年快乐，万事如意",
           "亲爱的朋友，愿你眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉",
           "祝您身体健康，阖家幸福",
           "新的一年，愿你把日子过成诗，把烦恼折成纸飞机放飞，眼里有星辰大海，身边有良人相伴")


def make_items(n: int, tag: int = 0) -> list[tuple[str, str]]:
    """n distinct (query, response) items, about 40% long enough to be judged Good."""
    return [(f"祝福语场景{i % 17}", f"{PHRASES[i % len(PHRASES)]}！（第{tag}-{i}条）")
            for i in range(n)]


def make_service(store: Store, base_url: str, in_flight: int) -> JudgeService:
    llm = LLMConfig(backend="openai", base_url=base_url, model="standin", api_key_env=KEY_ENV,
                    max_concurrency=in_flight, timeout_s=10)
    run, _ = get_or_create_run(store, kind="judge", run_key=None, config={}, code_version="bench")
    return build_judge_service(store, resolve_judge(store, JudgeConfig(llm=llm, concurrency=2 * in_flight)), run.id)


async def sdk_floor(base_url: str, items: list[tuple[str, str]], in_flight: int) -> dict[str, float]:
    """The same calls made with bare ChatOpenAI.ainvoke (prompts rendered beforehand)."""
    rules = list(load_principles("detector_initial").rules)
    lib = task_prompts()
    prompts = [lib.render(TEMPLATE, principles=rules, query=q, response=r).text for q, r in items]
    chat = ChatOpenAI(model="standin", base_url=base_url, api_key="bench", max_retries=0,
                      timeout=openai.Timeout(10.0))
    fmt = {"response_format": response_format(ROLE, DetectorVerdict)}
    slots = asyncio.Semaphore(in_flight)

    async def one(text: str, seed: int) -> None:
        async with slots:
            await chat.ainvoke([HumanMessage(text)], extra_body=fmt, seed=seed)

    await one("预热", 99)  # warm-up: connection pool
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(p, 0) for p in prompts))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await chat.root_async_client.close()
    return {"wall": wall, "cpu_ms": 1000 * cpu / len(prompts)}


async def judge_passes(store: Store, server: StandinServer, items: list[tuple[str, str]],
                       in_flight: int, profiler: cProfile.Profile | None) -> dict[str, float]:
    """First pass (every item judged), then the same items again (all from the cache)."""
    service = make_service(store, server.base_url, in_flight)
    warm = await service.judge_many([("预热", f"预热用的祝福语{time.time()}")])  # connection pool
    assert warm[0].verdict is not None, warm
    before = server.stats()["total"]
    cpu0, t0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    first = await service.judge_many(items)
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    requests = server.stats()["total"] - before
    t1 = time.perf_counter()
    second = await service.judge_many(items)
    wall2 = time.perf_counter() - t1
    requests2 = server.stats()["total"] - before - requests
    await service.aclose()
    return {"wall": wall, "cpu_ms": 1000 * cpu / max(requests, 1), "requests": requests,
            "failed": sum(r.verdict is None for r in first), "wall2": wall2,
            "requests2": requests2, "cached2": sum(r.cached for r in second)}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--waves", type=int, default=8, help="items per cell = waves × in flight")
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file in a temp dir")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    os.environ[KEY_ENV] = "bench"
    tmp = tempfile.mkdtemp(prefix="kindling-bench-judge-")
    store = Store(args.db_url or f"sqlite:///{tmp}/bench.db")
    cells, stress, profiler = [], None, cProfile.Profile(time.process_time)
    with StandinServer(StandinConfig()) as server:
        for tag, (latency, in_flight) in enumerate(GRID):
            server.reconfigure(latency_s=latency)
            n = args.waves * in_flight
            floor = asyncio.run(sdk_floor(server.base_url, make_items(n, -tag - 1), in_flight))
            r = asyncio.run(judge_passes(store, server, make_items(n, tag), in_flight, None))
            if r["failed"]:
                raise SystemExit(f"{r['failed']} items failed at {latency} s, {in_flight} in flight")
            if (latency, in_flight) == STRESS:  # a further pass, profiled (not the timed one)
                stress = r
                asyncio.run(judge_passes(store, server, make_items(n, 100 + tag), in_flight,
                                         profiler))
            cells.append(Cell(latency, in_flight, n, n * latency / in_flight, r["wall"],
                              floor["wall"], r["cpu_ms"], floor["cpu_ms"]))
    print(f"store: {store.dialect}   cores: {os.cpu_count()}   items per cell: waves "
          f"({args.waves}) × in flight")
    print_grid("the judge's batch API vs bare ChatOpenAI.ainvoke on the same calls", cells)
    for line in verdicts(cells, half_of_sdk=False):
        print("  " + line)
    if stress is not None:
        print(f"\nsecond pass at the stress point, same items from the cache: "
              f"{stress['wall2'] * 1000:.1f} ms, {stress['cached2']} cached, "
              f"{stress['requests2']} LLM requests (must be 0)")
    print_split("where the judge's CPU goes at the stress point (cProfile, own time)",
                profile_split(profiler))


if __name__ == "__main__":
    main()
