"""The GPUs a study runs on, found without touching CUDA in the experiment's own process.

`kindling experiment paper` runs every step that loads a model in a process of its own so each
starts with all GPU memory free; its own process hides the GPUs from itself (`gpus_hidden`) and
hands the original CUDA_VISIBLE_DEVICES to the steps' processes (`gpu_env`), so it never holds a
CUDA context (a few hundred MB on a card) while they train. The cards are read from nvidia-smi.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kindling.rl.memory_estimate import GiB

VISIBLE = "CUDA_VISIBLE_DEVICES"
VISIBLE_ORIGINAL = "KINDLING_CUDA_VISIBLE_DEVICES"  # the value before gpus_hidden
UNSET = "unset"  # VISIBLE_ORIGINAL's value when CUDA_VISIBLE_DEVICES was not set
_hiding = False  # gpus_hidden is active in this process


@dataclass(frozen=True)
class Devices:
    """The GPUs a plan is checked against: how many, each one's bytes, and where that came from."""

    count: int
    memory: int
    source: str  # "this machine: NVIDIA H100 80GB HBM3" or "the experiment's devices: setting"

    def describe(self) -> str:
        return f"{self.count} × {round(self.memory / GiB, 1):g} GiB ({self.source})"


def seen_devices() -> Devices | None:
    """The GPUs this machine has, as nvidia-smi lists them (CUDA_VISIBLE_DEVICES's when set);
    None: none. Never through CUDA itself: a process that touched CUDA would hold a context on a
    card while the steps' processes train on it."""
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=index,name,memory.total",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):  # a broken driver reads as no GPU
        return None
    cards = [[part.strip() for part in line.split(",")] for line in out.splitlines() if line.strip()]
    visible = visible_indices()
    cards = [c for c in cards if len(c) == 3 and (visible is None or c[0] in visible)]
    if not cards:
        return None
    memory = min(int(float(c[2])) for c in cards) * 2**20  # MiB
    return Devices(len(cards), memory, f"this machine: {cards[0][1]}")


def visible_indices() -> set[str] | None:
    """The card indices CUDA_VISIBLE_DEVICES names (as it was before `gpus_hidden`; None: unset,
    or not plain indices)."""
    value = os.environ.get(VISIBLE_ORIGINAL, os.environ.get(VISIBLE))
    if value is None or value == UNSET:
        return None
    parts = {v.strip() for v in value.split(",") if v.strip()}
    return parts if all(p.isdigit() for p in parts) else None


def plan_devices(configured: Any) -> Devices | None:
    """The devices this machine sees, else the experiment's `devices:` (None: neither)."""
    seen = seen_devices()
    if seen is not None or configured is None:
        return seen
    return Devices(configured.count, int(configured.memory_gib * GiB),
                   "the experiment's devices: setting")


@contextmanager
def gpus_hidden() -> Iterator[None]:
    """While the block runs, this process sees no GPU (set before anything touches CUDA); the
    steps' processes get the original value back from `gpu_env`. Restored afterwards."""
    global _hiding
    if _hiding:  # hidden already, further up
        yield
        return
    _hiding = True
    before = os.environ.get(VISIBLE)
    os.environ[VISIBLE_ORIGINAL] = UNSET if before is None else before
    os.environ[VISIBLE] = ""
    try:
        yield
    finally:
        _hiding = False
        del os.environ[VISIBLE_ORIGINAL]
        if before is None:
            os.environ.pop(VISIBLE, None)
        else:
            os.environ[VISIBLE] = before


def gpu_env(env: dict[str, str]) -> dict[str, str]:
    """A step process's environment with the GPUs this process hid from itself given back."""
    if VISIBLE_ORIGINAL not in env:
        return env
    out = {k: v for k, v in env.items() if k not in (VISIBLE, VISIBLE_ORIGINAL)}
    original = env[VISIBLE_ORIGINAL]
    if original != UNSET:  # UNSET: it was unset
        out[VISIBLE] = original
    return out
