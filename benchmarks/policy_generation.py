"""Candidates from the policy: one generate call per sample vs Kindling's batched PolicySampler.

Path A with `curate --policy` draws `samples_per_query` candidates per query from the small model.
This prints candidates per second both ways on the same queries, sampling settings and model:
  per-sample  one generate call per candidate (how the generator chat model path works)
  batched     PolicySampler: every sample of a query and `--batch-queries` queries per call,
              each sample recorded in a real store (SQLite) before it is used
and the ratio batched / per-sample. The model defaults to the quickstart's tiny Qwen2 built from
config (`--model DIR` for another policy folder).

    python benchmarks/policy_generation.py [--data ../shared/data/igniting] [--queries 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kindling.agents.curate.config import PolicyConfig
from kindling.agents.curate.policy_backends import TransformersPolicy
from kindling.agents.curate.policy_sampler import PolicySampler
from kindling.rl.policy_loading import load_policy
from kindling.rl.tiny_model import init_tiny_model
from kindling.store import work
from kindling.store.calls import CallLog
from kindling.store.db import Store


def read_queries(data: Path, n: int) -> list[str]:
    lines = (data / "random_query.txt").read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()][:n]


def per_sample(backend: TransformersPolicy, queries: list[str], n: int) -> float:
    started = time.perf_counter()
    for q_index, query in enumerate(queries):
        for i in range(n):
            backend.complete([query], 1, q_index * 1000 + i)
    return time.perf_counter() - started


async def batched(backend: TransformersPolicy, queries: list[str], n: int, batch: int,
                  store: Store) -> tuple[float, int]:
    run, _ = work.get_or_create_run(store, kind="curate", run_key=None, config={},
                                    code_version="bench")
    calls = CallLog(store, run.id)
    sampler = PolicySampler(backend, calls, model_name="bench", samples_per_query=n,
                            batch_queries=batch, seed=0)
    started = time.perf_counter()
    await asyncio.gather(*[sampler.sample(f"q{q}s{i}", q, text, i)
                           for q, text in enumerate(queries) for i in range(n)])
    calls.flush()
    return time.perf_counter() - started, sampler.generate_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "igniting")
    parser.add_argument("--model", type=Path, default=None, help="A policy folder (default: tiny).")
    parser.add_argument("--queries", type=int, default=32)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--batch-queries", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()
    queries = read_queries(args.data, args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model or init_tiny_model(queries * 4, Path(tmp) / "tiny", vocab_size=2000)
        cfg = PolicyConfig(model=str(folder), max_new_tokens=args.max_new_tokens,
                           temperature=0.9)
        backend = TransformersPolicy(*load_policy(folder), cfg)
        backend.complete(queries[:1], 1, 0)  # warm-up
        one = per_sample(backend, queries, args.samples)
        store = Store(f"sqlite:///{Path(tmp) / 'k.db'}")
        many, gen_calls = asyncio.run(batched(backend, queries, args.samples,
                                              args.batch_queries, store))
        store.close()
    total = len(queries) * args.samples
    print(f"policy {folder if args.model else 'tiny Qwen2 (built from config)'}: {len(queries)} "
          f"queries x {args.samples} samples, <= {args.max_new_tokens} new tokens each")
    print(f"{'way':<12}{'generate calls':>16}{'wall s':>10}{'candidates/s':>14}")
    print(f"{'per-sample':<12}{total:>16}{one:>10.2f}{total / one:>14.1f}")
    print(f"{'batched':<12}{gen_calls:>16}{many:>10.2f}{total / many:>14.1f}")
    print(f"ratio batched / per-sample: {one / many:.2f}x")


if __name__ == "__main__":
    main()
