"""Copy the first rows of every file of the paper's data folder into a small folder of the same layout.

The device machine does not see ../shared, so benchmarks/gpu_wheels.sh puts a subset inside the
git-ignored benchmarks/wheels/ (carried with the wheels). Upstream ships no license: the subset is
for the device call only, never committed.

    python3 -m benchmarks.gpu.paper_subset ../shared/data/igniting benchmarks/wheels/paper_data --rows 400
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

JSON_ARRAYS = ("sft/sft_data.json", "reward_model/reward_data_train.json", "reward_model/reward_data_test.json")
PARQUETS = ("grpo_data/train.parquet", "grpo_data/test.parquet")
LINE_FILES = ("evaluation_set/evaluate_data.json", "random_query.txt")  # JSON Lines and plain lines


def make_subset(src: Path, dest: Path, rows: int) -> int:
    """Write the first `rows` rows of each data file of `src` to `dest` (replaced), same layout.

    Args:
        src: A folder of the upstream `dataset/` layout.
        dest: The folder to write (removed first when it exists).
        rows: Rows kept per file.

    Returns:
        The bytes written.
    """
    import pyarrow.parquet as pq

    if dest.exists():
        shutil.rmtree(dest)
    for rel in JSON_ARRAYS:
        data = json.loads((src / rel).read_text(encoding="utf-8"))
        write(dest / rel, json.dumps(data[:rows], ensure_ascii=False, indent=1))
    for rel in PARQUETS:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pq.read_table(src / rel).slice(0, rows), dest / rel)
    for rel in LINE_FILES:
        lines = (src / rel).read_text(encoding="utf-8").splitlines(keepends=True)
        write(dest / rel, "".join(lines[:rows]))
    return sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())


def write(path: Path, text: str) -> None:
    """Write UTF-8 text, making the parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Make the subset and print its size."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path, help="the paper's data folder (e.g. ../shared/data/igniting)")
    p.add_argument("dest", type=Path, help="folder to write (replaced)")
    p.add_argument("--rows", type=int, default=400, help="rows kept per file (default 400)")
    args = p.parse_args(argv)
    if not args.src.is_dir():
        p.error(f"{args.src}: not a folder")
    size = make_subset(args.src, args.dest, args.rows)
    print(f"paper data subset: {args.rows} rows per file -> {args.dest} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
