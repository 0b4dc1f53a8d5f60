"""The offline llama.cpp server's prompt cache: on by default for the local backend, off when
`prompt_cache: false`, down from the config to llama-cpp-python's settings in the child; and
`KeptPromptCache` counts all a state holds and drops the least recently used; new prompt starts
are kept on disk for the next command (`DiskPromptStates`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.endpoints import llama_server_for
from kindling.agents.llm.llama_server import keep_prompts, model_settings, parse_args
from kindling.agents.llm.prompt_cache import KeptPromptCache, state_bytes
from kindling.agents.llm.prompt_disk import DiskPromptStates
from llama_cpp import LlamaState

GGUF = Path("/models/smollm2.gguf")  # never opened: the server is built, not started


def child_settings(cfg: LLMConfig):  # llama-cpp-python's ModelSettings
    command = llama_server_for(cfg, GGUF).command()
    return model_settings(parse_args(command[command.index("--model"):]))


def test_the_local_server_keeps_prompts_by_default() -> None:
    settings = child_settings(LLMConfig(backend="local", model="smollm2"))
    assert settings.cache is True and settings.cache_type == "ram"
    assert settings.cache_size == 512 << 20
    assert settings.model == str(GGUF) and settings.model_alias == "smollm2"
    assert settings.logits_all is False


def test_prompt_cache_false_starts_the_server_without_it() -> None:
    settings = child_settings(LLMConfig(backend="local", prompt_cache=False))
    assert settings.cache is False
    assert keep_prompts(settings) == "prompt cache: off"


def test_prompt_cache_mib_sizes_it_and_n_threads_reaches_the_child() -> None:
    assert child_settings(LLMConfig(backend="local", prompt_cache_mib=64)).cache_size == 64 << 20
    assert child_settings(LLMConfig(backend="local", n_threads=1)).n_threads == 1


def state(tokens: list[int], kv_bytes: int, rows: int = 512, vocab: int = 1000) -> LlamaState:
    ids = np.zeros(4096, dtype=np.intc)
    ids[: len(tokens)] = tokens
    return LlamaState(input_ids=ids, scores=np.ones((rows, vocab), dtype=np.single),
                      n_tokens=len(tokens), llama_state=b"\0" * kv_bytes,
                      llama_state_size=kv_bytes, seed=1)


def test_a_kept_state_counts_all_it_holds() -> None:
    cache = KeptPromptCache(capacity_bytes=1 << 30)
    cache[(1, 2, 3)] = state([1, 2, 3], kv_bytes=10_000)
    kept = cache[(1, 2, 3, 4)]
    assert cache.cache_size == 10_000 + 4096 * 4 + 512 * 1000 * 4 == state_bytes(kept)


def test_the_longest_shared_start_wins_and_the_oldest_goes_first() -> None:
    kept = 100_000 + 4096 * 4 + 1000 * 4  # one state with one logits row
    cache = KeptPromptCache(capacity_bytes=2 * kept + kept // 2)
    cache[(1, 2, 3)] = state([1, 2, 3], kv_bytes=100_000, rows=1)
    cache[(1, 2, 9)] = state([1, 2, 9], kv_bytes=100_000, rows=1)
    assert cache[(1, 2, 9, 9)].n_tokens == 3 and list(cache[(1, 2, 9, 9)].input_ids[:3]) == [1, 2, 9]
    cache[(7, 7)] = state([7, 7], kv_bytes=100_000, rows=1)  # over: (1, 2, 3) is the LRU
    assert list(cache.cache_state) == [(1, 2, 9), (7, 7)]
    with pytest.raises(KeyError):
        cache[(5,)]


def test_kept_on_disk_by_default_and_off_with_the_cache() -> None:
    command = llama_server_for(LLMConfig(backend="local"), GGUF).command()
    assert parse_args(command[command.index("--model"):]).prompt_disk_mib == 1024
    off = llama_server_for(LLMConfig(backend="local", prompt_cache=False), GGUF).command()
    assert parse_args(off[off.index("--model"):]).prompt_disk_mib == 0


def test_a_state_kept_on_disk_comes_back_whole(tmp_path: Path) -> None:
    disk = DiskPromptStates(tmp_path / "states", capacity_bytes=1 << 30)
    disk.save(state([5, 6, 7], kv_bytes=1000, rows=1))
    again = DiskPromptStates(tmp_path / "states", capacity_bytes=1 << 30)  # the next command
    shared, path = again.best(np.array([5, 6, 8], dtype=np.intc))
    assert shared == 2 and path is not None
    kept = again.load(path)
    assert kept is not None and kept.n_tokens == 3 and kept.llama_state == b"\0" * 1000
    assert list(kept.input_ids[:3]) == [5, 6, 7] and kept.scores.shape == (1, 1000)
    assert again.best(np.array([9], dtype=np.intc)) == (0, None)


def test_the_least_recently_used_file_goes_first(tmp_path: Path) -> None:
    disk = DiskPromptStates(tmp_path, capacity_bytes=1 << 30)
    disk.save(state([1, 1], kv_bytes=50_000, rows=1))
    size = next(tmp_path.glob("*.npz")).stat().st_size
    disk.capacity_bytes = 2 * size + size // 2
    disk.save(state([2, 2], kv_bytes=50_000, rows=1))
    old = disk.best(np.array([1, 1], dtype=np.intc))[1]
    assert old is not None
    os.utime(old, ns=(1, 1))  # long unused
    disk.save(state([3, 3], kv_bytes=50_000, rows=1))
    assert disk.best(np.array([1, 1], dtype=np.intc)) == (0, None) and not old.exists()
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_a_file_that_is_not_a_state_is_removed_never_unpickled(tmp_path: Path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    np.savez(tmp_path / "pickled.npz", input_ids=np.array([{"x": 1}], dtype=object),
             meta=np.array([1, 0]))
    disk = DiskPromptStates(tmp_path, capacity_bytes=1 << 30)
    assert disk.best(np.array([1], dtype=np.intc)) == (0, None)
    assert list(tmp_path.glob("*.npz")) == []


def test_only_a_new_prompt_start_is_written_to_disk(tmp_path: Path) -> None:
    disk = DiskPromptStates(tmp_path, capacity_bytes=1 << 30)
    cache = KeptPromptCache(1 << 30, disk=disk)
    with pytest.raises(KeyError):
        cache[(1, 2, 3, 4)]  # never seen: evaluated whole, then kept
    cache[(1, 2, 3, 4, 9)] = state([1, 2, 3, 4, 9], kv_bytes=1000, rows=1)
    cache[(1, 2, 3, 5)]  # shares most of its start: evaluated from the RAM state
    cache[(1, 2, 3, 5, 9)] = state([1, 2, 3, 5, 9], kv_bytes=1000, rows=1)
    assert len(list(tmp_path.glob("*.npz"))) == 1


def test_the_next_command_starts_from_the_state_on_disk(tmp_path: Path) -> None:
    first = KeptPromptCache(1 << 30, disk=DiskPromptStates(tmp_path, capacity_bytes=1 << 30))
    with pytest.raises(KeyError):
        first[(1, 2, 3, 4)]
    first[(1, 2, 3, 4, 9)] = state([1, 2, 3, 4, 9], kv_bytes=1000, rows=1)
    second = KeptPromptCache(1 << 30, disk=DiskPromptStates(tmp_path, capacity_bytes=1 << 30))
    kept = second[(1, 2, 3, 4, 7)]
    assert list(kept.input_ids[: kept.n_tokens]) == [1, 2, 3, 4, 9]
    assert list(second.cache_state) == [(1, 2, 3, 4, 9)]  # now in RAM too


def test_a_file_half_written_by_a_killed_server_is_removed(tmp_path: Path) -> None:
    old, fresh = tmp_path / "a.part", tmp_path / "b.part"
    old.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(old, (1, 1))
    DiskPromptStates(tmp_path, capacity_bytes=1 << 30)
    assert not old.exists() and fresh.exists()
