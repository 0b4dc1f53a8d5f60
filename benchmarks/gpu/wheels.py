"""TRL and datasets from carried wheels, when the machine has neither (benchmarks/gpu_wheels.sh)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_WHEELS = Path(__file__).resolve().parents[1] / "wheels"


def ensure_trl(wheels: str | None) -> None:
    """Install trl and datasets offline from `wheels` when they are not importable.

    Args:
        wheels: Folder of wheels (None: benchmarks/wheels).

    Raises:
        SystemExit: they are missing and the folder is absent, or pip cannot install them.
    """
    try:
        import datasets
        import trl

        del datasets, trl
        return
    except ImportError as exc:
        missing = exc.name
    folder = Path(wheels) if wheels else DEFAULT_WHEELS
    if not folder.is_dir():
        sys.exit(f"{missing} is not installed and no wheels folder ({folder}): run benchmarks/gpu_wheels.sh "
                 "where pip can download, carry benchmarks/wheels, and pass --wheels benchmarks/wheels")
    print(f"installing trl and datasets from {folder} (offline) ...", flush=True)
    base = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-cache-dir",
            "--disable-pip-version-check", "--find-links", str(folder)]
    wheels_list = [str(w) for w in sorted(folder.glob("*.whl"))]
    if subprocess.call([*base, "trl", "datasets"]) != 0:
        # A dependency pin the image cannot meet offline (pyarrow, fsspec, ...): install the carried
        # wheels as they are and let the imports decide; last, into a folder of their own.
        print("resolved install failed; retrying with --no-deps", flush=True)
        if subprocess.call([*base, "--no-deps", *wheels_list]) != 0:
            target = Path(tempfile.mkdtemp(prefix="gpu-train-site-"))
            print(f"retrying with --no-deps --target {target}", flush=True)
            if subprocess.call([*base, "--no-deps", "--target", str(target), *wheels_list]) != 0:
                sys.exit(f"pip could not install the wheels in {folder}")
            sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    import datasets  # noqa: F401
    import trl  # noqa: F401
