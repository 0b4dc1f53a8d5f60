"""Shared by the throughput benchmarks: the offered-load grid, its table, and a profile split.

Each cell is (latency per call, calls in flight). Kindling's ratio to the latency-bound ideal is
printed beside bare `ChatOpenAI.ainvoke`'s ratio on the same calls, so what the project adds can
be told apart from what the HTTP client and two cores allow.
"""

from __future__ import annotations

import cProfile
import pstats
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

GRID = ((0.1, 16), (0.1, 64), (0.1, 256), (1.5, 16), (1.5, 64), (1.5, 256))
STRESS = (0.1, 64)

CATEGORIES = (  # (category, substrings of a function's file), first match wins
    ("checkpoints (LangGraph saver, aiosqlite)", ("langgraph/checkpoint", "aiosqlite")),
    ("store (SQLAlchemy, call records, verdicts)", ("sqlalchemy", "/store/")),
    ("graph engine (LangGraph)", ("langgraph/",)),
    ("templating (Jinja)", ("jinja2", "agents/templates")),
    ("parsing and validation", ("json_repair", "agents/llm/parsing", "pydantic", "/json/")),
    ("HTTP client (openai, httpx)", ("openai/", "httpx", "httpcore", "h11", "anyio")),
    ("LangChain core", ("langchain_core", "langsmith")),
    ("event loop", ("asyncio", "selectors", "uvloop")),
    ("Kindling agents", ("/agents/",)),
)


@dataclass
class Cell:
    latency_s: float
    in_flight: int
    calls: int
    ideal_s: float
    wall_s: float
    floor_wall_s: float
    cpu_ms: float
    floor_cpu_ms: float

    @property
    def ratio(self) -> float:
        return self.ideal_s / self.wall_s

    @property
    def floor_ratio(self) -> float:
        return self.ideal_s / self.floor_wall_s


def print_grid(title: str, cells: Iterable[Cell]) -> None:
    """One row per cell: Kindling's ratio beside the bare SDK's, and CPU per call."""
    print(f"\n{title}")
    print(f"  {'latency':>7} {'in flight':>9} {'calls':>6} {'kindling':>9} {'bare SDK':>9} "
          f"{'k / SDK':>8} {'CPU ms/call':>12} {'SDK CPU':>8} {'own CPU':>8}")
    for c in cells:
        print(f"  {c.latency_s:>6.1f}s {c.in_flight:>9} {c.calls:>6} {c.ratio:>9.3f} "
              f"{c.floor_ratio:>9.3f} {c.ratio / c.floor_ratio:>8.2f} {c.cpu_ms:>12.2f} "
              f"{c.floor_cpu_ms:>8.2f} {c.cpu_ms - c.floor_cpu_ms:>8.2f}")


def verdicts(cells: list[Cell], *, half_of_sdk: bool) -> list[str]:
    """The issue's targets, each with its measured figure."""
    lines = []
    slow = [c for c in cells if c.latency_s >= 1.5]
    worst = min(slow, key=lambda c: c.ratio) if slow else None
    if worst is not None:
        lines.append(f"at 1.5 s latency the lowest ratio is {worst.ratio:.3f} "
                     f"({worst.in_flight} in flight; target >= 0.9): "
                     + ("met" if worst.ratio >= 0.9 else "NOT met"))
    stress = next((c for c in cells if (c.latency_s, c.in_flight) == STRESS), None)
    if stress is not None:
        own = stress.cpu_ms - stress.floor_cpu_ms
        lines.append(f"at the stress point (0.1 s, 64 in flight) Kindling's own CPU is "
                     f"{own:.2f} ms per call vs the SDK's {stress.floor_cpu_ms:.2f} ms "
                     "(target: no more): " + ("met" if own <= stress.floor_cpu_ms else "NOT met"))
        if half_of_sdk:
            share = stress.ratio / stress.floor_ratio
            lines.append(f"at the stress point Kindling reaches {share:.2f} of the bare SDK's "
                         "ratio (target >= 0.5): " + ("met" if share >= 0.5 else "NOT met"))
    return lines


def _category(filename: str) -> str | None:
    return next((cat for cat, keys in CATEGORIES if any(k in filename for k in keys)), None)


def profile_split(profiler: cProfile.Profile, depth: int = 4) -> list[tuple[str, float]]:
    """Own (tottime) time by category, as shares of the profiled total, largest first (CPU time
    with a `process_time` profiler). A builtin's or the standard library's time goes to whoever
    called it (up to `depth` callers up), so `isinstance` in the HTTP client counts as the client's."""
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    totals: dict[str, float] = defaultdict(float)

    def attribute(func: tuple, seconds: float, level: int) -> None:
        category = _category(func[0])
        callers = stats.get(func, (0, 0, 0, 0, {}))[4]
        if category is not None or level >= depth or not callers:
            totals[category or "other (stdlib, builtins)"] += seconds
            return
        weights = {c: v[2] for c, v in callers.items()}  # time spent in func from each caller
        whole = sum(weights.values()) or 1.0
        for caller, weight in weights.items():
            attribute(caller, seconds * weight / whole, level + 1)

    for func, (_cc, _nc, tottime, _ct, _callers) in stats.items():
        attribute(func, tottime, 0)
    whole = sum(totals.values()) or 1.0
    return sorted(((cat, t / whole) for cat, t in totals.items()), key=lambda x: -x[1])


def print_split(title: str, split: list[tuple[str, float]]) -> None:
    print(f"\n{title}")
    for category, share in split:
        print(f"  {share:6.1%}  {category}")
