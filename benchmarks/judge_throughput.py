"""Principle-guided judge throughput against the stand-in server: the async batch API vs the ideal.

256 (query, response) items, one Detector call each, 100 ms latency per call, at most 32 calls in
flight: the latency-bound ideal is 256 / 32 × 0.1 s = 0.8 s. Target: ratio (ideal / measured)
≥ 0.85. A second pass over the same items must make no LLM call (all from the store's cache):
its time and the server's request count are printed.

Each round also makes the same calls with bare ChatOpenAI.ainvoke (the SDK floor: no judge, no
store), so the judge's own share can be told apart from the HTTP client's. Rounds alternate floor
and judge on fresh items; the median round is reported (the host's other load makes single runs
vary).

    python benchmarks/judge_throughput.py [--items 256] [--in-flight 32] [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openai
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from agents.judge_service import JudgeService, build_judge_service
from agents.principled_judge import ROLE, TEMPLATE
from agents.schemas import DetectorVerdict, response_format
from agents.templates import PromptLibrary, load_principles
from kindling.config import JudgeConfig, LLMConfig
from store.db import Store
from store.work import get_or_create_run
from tests.standin import StandinConfig, StandinServer

LATENCY_S = 0.1
KEY_ENV = "KINDLING_BENCH_KEY"
PHRASES = ("生日快乐", "新年快乐，万事如意",
           "亲爱的朋友，愿你眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉",
           "祝您身体健康，阖家幸福",
           "新的一年，愿你把日子过成诗，把烦恼折成纸飞机放飞，眼里有星辰大海，身边有良人相伴")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--items", type=int, default=256)
    p.add_argument("--in-flight", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file in a temp dir")
    p.add_argument("--profile", action="store_true", help="cProfile the judge's first pass")
    return p.parse_args()


def make_items(n: int, tag: int = 0) -> list[tuple[str, str]]:
    """n distinct (query, response) items, about 40% long enough to be judged Good."""
    return [(f"祝福语场景{i % 17}", f"{PHRASES[i % len(PHRASES)]}！（第{tag}-{i}条）")
            for i in range(n)]


def make_service(store: Store, base_url: str, in_flight: int) -> JudgeService:
    llm = LLMConfig(backend="openai", base_url=base_url, model="standin", api_key_env=KEY_ENV,
                    max_concurrency=in_flight, timeout_s=10)
    run, _ = get_or_create_run(store, kind="judge", run_key=None, config={}, code_version="bench")
    return build_judge_service(store, JudgeConfig(llm=llm, concurrency=2 * in_flight), run.id)


async def sdk_floor(base_url: str, items: list[tuple[str, str]], in_flight: int) -> dict[str, float]:
    """The same calls made with bare ChatOpenAI.ainvoke (prompts rendered beforehand)."""
    rules = list(load_principles("detector_initial").rules)
    lib = PromptLibrary()
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
                       in_flight: int, profile: bool) -> dict[str, float]:
    """First pass (every item judged), then the same items again (all from the cache)."""
    service = make_service(store, server.base_url, in_flight)
    warm = await service.judge_many([("预热", f"预热用的祝福语{time.time()}")])  # connection pool
    assert warm[0].verdict is not None, warm
    before = server.stats()["total"]
    profiler = cProfile.Profile() if profile else None
    cpu0, t0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    first = await service.judge_many(items)
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    requests = server.stats()["total"] - before
    t1 = time.perf_counter()
    second = await service.judge_many(items)
    wall2 = time.perf_counter() - t1
    requests2 = server.stats()["total"] - before - requests
    await service.aclose()
    return {"wall": wall, "cpu_ms": 1000 * cpu / max(requests, 1), "requests": requests,
            "failed": sum(r.verdict is None for r in first),
            "good": sum(r.verdict == 1 for r in first), "wall2": wall2, "requests2": requests2,
            "cached2": sum(r.cached for r in second)}


def median_round(rounds: list[dict[str, float]]) -> dict[str, float]:
    walls = [r["wall"] for r in rounds]
    return rounds[walls.index(statistics.median_low(walls))]


def ratios(ideal: float, rounds: list[dict[str, float]]) -> str:
    return ", ".join(f"{ideal / r['wall']:.2f}" for r in rounds)


def main() -> None:
    args = parse_args()
    os.environ[KEY_ENV] = "bench"
    tmp = tempfile.mkdtemp(prefix="kindling-bench-judge-")
    store = Store(args.db_url or f"sqlite:///{tmp}/bench.db")
    floors, judges = [], []
    with StandinServer(StandinConfig(latency_s=LATENCY_S)) as server:
        for n in range(args.rounds):
            floors.append(asyncio.run(sdk_floor(server.base_url, make_items(args.items, -n - 1),
                                                args.in_flight)))
            judges.append(asyncio.run(judge_passes(store, server, make_items(args.items, n),
                                                   args.in_flight, args.profile and n == 0)))
    ideal = args.items / args.in_flight * LATENCY_S
    r, floor = median_round(judges), median_round(floors)
    print(f"store: {store.dialect}   cores: {os.cpu_count()}   items: {args.items}   "
          f"in flight: {args.in_flight}   latency: {LATENCY_S * 1000:.0f} ms per call   "
          f"rounds: {args.rounds} (median shown)")
    print("[first pass: every item judged by the LLM]")
    print(f"  LLM requests / failed / Good  : {r['requests']} / {r['failed']} / {r['good']}")
    print(f"  wall                          : {r['wall']:.3f} s   (ideal {ideal:.3f} s)")
    print(f"  ratio to ideal                : {ideal / r['wall']:.3f}   (target >= 0.85)   "
          f"all rounds: {ratios(ideal, judges)}")
    print(f"  CPU per LLM call              : {r['cpu_ms']:.2f} ms (whole client process)")
    print("[SDK floor: the same calls with bare ChatOpenAI.ainvoke, nothing else]")
    print(f"  wall                          : {floor['wall']:.3f} s   ratio to ideal "
          f"{ideal / floor['wall']:.3f}   CPU per call {floor['cpu_ms']:.2f} ms   "
          f"all rounds: {ratios(ideal, floors)}")
    print(f"  judge's own CPU per call      : {r['cpu_ms'] - floor['cpu_ms']:.2f} ms "
          "(judge minus floor)")
    print("[second pass: same items, from the cache]")
    print(f"  wall                          : {r['wall2'] * 1000:.1f} ms   "
          f"cached {r['cached2']}/{args.items}")
    print(f"  LLM requests                  : {r['requests2']}   (must be 0)")


if __name__ == "__main__":
    main()
