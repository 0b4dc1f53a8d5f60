"""How fast the CLI answers: `kindling --help`, a command's help and a quick store command.

Each command runs `--repeat` times in a fresh process (median printed), beside bare Python and
beside importing every library the commands use (SQLAlchemy, LangChain, LangGraph, transformers,
TRL through Kindling's services), which is what every start paid before the commands imported
their libraries where they use them. Prints each median and its ratio to that eager import.

    python benchmarks/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EAGER = ("import kindling.cli, kindling.services.curate, kindling.services.adversarial, "
         "kindling.services.judge, kindling.services.evaluation, kindling.services.training, "
         "kindling.views, rl.train_config")


def median_seconds(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    py, kindling = sys.executable, [sys.executable, "-m", "kindling"]
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        subprocess.run([*kindling, "--db-url", db, "runs"], cwd=ROOT, check=True,
                       capture_output=True)  # the store exists and is migrated
        rows = [
            ("bare python", [py, "-c", "pass"]),
            ("eager import (before)", [py, "-c", EAGER]),
            ("kindling --help", [*kindling, "--help"]),
            ("kindling curate --help", [*kindling, "curate", "--help"]),
            ("kindling train sft --help", [*kindling, "train", "sft", "--help"]),
            ("kindling runs (store at head)", [*kindling, "--db-url", db, "runs"]),
        ]
        measured = [(name, median_seconds(cmd, args.repeat)) for name, cmd in rows]
    eager = dict(measured)["eager import (before)"]
    print(f"{'command':32} {'median s':>9} {'÷ eager':>8}")
    for name, seconds in measured:
        print(f"{name:32} {seconds:9.2f} {seconds / eager:8.2f}")


if __name__ == "__main__":
    main()
