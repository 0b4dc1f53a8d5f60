"""Prompt states kept on disk, so the next command on the same model starts warm (imported by
the offline server's child process only).

The first time an agent role's prompt is seen, llama.cpp evaluates all its fixed instructions
(some 20 s for Path A's four roles with SmolLM2 on two cores); the RAM prompt cache spares that
for the rest of the command only. `DiskPromptStates` keeps the state of such a first evaluation
in a folder of Kindling's own (`~/.cache/kindling/llama-prompts/<model>/`, under
`XDG_CACHE_HOME` where set), one `.npz` file per prompt, so a later command (another curate
run, a debugger session, the quickstart) loads it in milliseconds instead.

Files are plain NumPy arrays read with `allow_pickle=False`; one whose arrays do not fit is
removed and treated as absent. The folder is named by the model file, its size and time, the
context size and llama-cpp-python's version, so a state is only ever loaded into the model that
made it. The least recently used files go first once the folder holds more than its capacity.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
from llama_cpp import LlamaState

SUFFIX, PART = ".npz", ".part"
STALE_PART_S = 600.0
"""A half-written file older than this was left by a server that was killed while writing."""


def prompt_states_folder(model: Path, n_ctx: int) -> Path:
    """Kindling's folder for the kept prompt states of `model` run with `n_ctx`."""
    stat = model.resolve().stat()
    identity = f"{model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{n_ctx}|"
    identity += version("llama_cpp_python")
    name = f"{model.stem[:40]}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kindling" / "llama-prompts" / name


def _read(path: Path) -> LlamaState | None:
    """The state in `path`, or None when it is not one (then the file is removed)."""
    try:
        with np.load(path, allow_pickle=False) as kept:
            ids, scores, kv = kept["input_ids"], kept["scores"], kept["llama_state"]
            n_tokens, seed = (int(v) for v in kept["meta"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None
    if ids.dtype != np.intc or kv.dtype != np.uint8 or not 0 < n_tokens <= ids.size:
        path.unlink(missing_ok=True)
        return None
    return LlamaState(input_ids=ids, scores=scores.astype(np.single), n_tokens=n_tokens,
                      llama_state=kv.tobytes(), llama_state_size=kv.size, seed=seed)


def _tokens(path: Path) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as kept:
            return kept["input_ids"][: int(kept["meta"][0])]
    except (OSError, KeyError, ValueError, IndexError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None


def _remove_stale_parts(folder: Path) -> None:
    """Remove half-written files a killed server left (a live one's are younger)."""
    now = time.time()
    for part in folder.glob(f"*{PART}"):
        try:
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:
            pass


def shared_start(a: np.ndarray, b: np.ndarray) -> int:
    """How many tokens `a` and `b` share from the start."""
    n = min(a.size, b.size)
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if differ.size else n


class DiskPromptStates:
    """Prompt states in `folder`, at most `capacity_bytes` of files, the least recently used
    going first."""

    def __init__(self, folder: Path, capacity_bytes: int) -> None:
        self.folder, self.capacity_bytes = folder, capacity_bytes
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(folder)
        self._index: dict[Path, np.ndarray] = {}
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            tokens = _tokens(path)
            if tokens is not None:
                self._index[path] = tokens

    def best(self, tokens: np.ndarray) -> tuple[int, Path | None]:
        """The kept file sharing the longest start with `tokens`, and how long that start is."""
        found: tuple[int, Path | None] = (0, None)
        for path, kept in self._index.items():
            shared = shared_start(kept, tokens)
            if shared > found[0]:
                found = (shared, path)
        return found

    def load(self, path: Path) -> LlamaState | None:
        """The state kept in `path` (None, and forgotten, when it cannot be read)."""
        state = _read(path)
        if state is None:
            self.forget(path)
        else:
            os.utime(path)  # recently used: evicted last
        return state

    def forget(self, path: Path) -> None:
        self._index.pop(path, None)
        path.unlink(missing_ok=True)

    def save(self, state: LlamaState) -> None:
        """Keep `state` (written whole or not at all), then trim the folder to capacity."""
        tokens = np.asarray(state.input_ids[: state.n_tokens], dtype=np.intc)
        path = self.folder / f"{hashlib.sha256(tokens.tobytes()).hexdigest()[:32]}{SUFFIX}"
        handle, tmp = tempfile.mkstemp(dir=self.folder, suffix=PART)
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, input_ids=np.asarray(state.input_ids, dtype=np.intc),
                         scores=np.asarray(state.scores, dtype=np.single),
                         llama_state=np.frombuffer(state.llama_state, dtype=np.uint8),
                         meta=np.array([state.n_tokens, state.seed], dtype=np.int64))
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return
        self._index[path] = tokens
        self._trim()

    def _trim(self) -> None:
        files = []
        for path in list(self._index):
            try:
                files.append((path.stat().st_mtime_ns, path.stat().st_size, path))
            except OSError:
                self._index.pop(path, None)
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.capacity_bytes:
                break
            self.forget(path)
            total -= size
