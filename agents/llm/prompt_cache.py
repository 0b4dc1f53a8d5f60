"""llama.cpp's prompt cache as Kindling's offline server keeps it (imported by the server's child
process only).

With `cache` on, llama-cpp-python's server keeps, after each answer, the model's state for the
prompt and the answer (the KV cache of their tokens) in a `LlamaRAMCache`; a later request loads
the kept state that shares the longest start with its prompt and evaluates only the rest. An agent
role's prompt repeats its instructions for every item, so from the second item on only the item's
own text is evaluated.

Two costs of llama-cpp-python's own cache are avoided. It saves with each state a copy of the
model's logits buffer (n_batch × vocabulary floats: 100 MB for SmolLM2, beside 35 MB of KV state
for one of Path A's prompts), writes it back on every load, and counts only the KV state against
its capacity, so its 2 GiB default could hold some 8 GB. With `logits_all` off, as Kindling runs
it, nothing reads that buffer (sampling reads llama.cpp's own logits, and a loaded state is always
evaluated again from at least its last token before sampling), so `keep_logits_row` cuts it to
one row, and `KeptPromptCache` counts all a state holds against its capacity.

Given a `DiskPromptStates`, `KeptPromptCache` also keeps on disk the state of each prompt whose
start it had not seen (an agent role's first item), and loads a kept one when it shares a longer
start with a prompt than anything in RAM: the next command skips those first evaluations too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from kindling.agents.llm.prompt_disk import DiskPromptStates
from llama_cpp import Llama, LlamaRAMCache, LlamaState


def state_bytes(state: LlamaState) -> int:
    """The memory one kept state holds: llama.cpp's state, the token ids, the logits kept."""
    return int(state.llama_state_size) + state.input_ids.nbytes + state.scores.nbytes


def keep_logits_row(llama: Llama) -> None:
    """Cut the logits buffer of a model run with `logits_all` off to one row (nothing reads it),
    so that saving and loading a prompt's state copies 0.2 MB of it, not 100 MB (SmolLM2)."""
    llama.scores = llama.scores[:1].copy()


class KeptPromptCache(LlamaRAMCache):
    """An LRU `LlamaRAMCache` that counts everything a state holds against its capacity, and with
    `disk` (and the `llama` it serves) keeps the states of new prompt starts there too."""

    def __init__(self, capacity_bytes: int, disk: DiskPromptStates | None = None,
                 llama: Llama | None = None) -> None:
        super().__init__(capacity_bytes)
        self.disk, self.llama = disk, llama
        self._new_start = False  # the prompt looked up last shared less than half with any kept

    @property
    def cache_size(self) -> int:
        return sum(state_bytes(state) for state in self.cache_state.values())

    def __getitem__(self, key: Sequence[int]) -> LlamaState:
        key = tuple(key)
        in_ram = self._find_longest_prefix_key(key)
        ram_len = Llama.longest_token_prefix(in_ram, key) if in_ram is not None else 0
        disk_len, path = (0, None)
        if self.disk is not None:
            disk_len, path = self.disk.best(np.asarray(key, dtype=np.intc))
        self._new_start = max(ram_len, disk_len) < len(key) // 2
        if path is not None and disk_len > ram_len:
            state = self._from_disk(path)
            if state is not None:
                return state
        return super().__getitem__(key)

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        super().__setitem__(key, value)
        if self.disk is not None and self._new_start:
            self.disk.save(value)
        self._new_start = False

    def _from_disk(self, path: Path) -> LlamaState | None:
        """A kept state, loaded into the model to prove it fits (then also kept in RAM); None
        when it does not (the file is forgotten)."""
        assert self.disk is not None
        state = self.disk.load(path)
        if state is None:
            return None
        if self.llama is not None:
            try:
                self.llama.load_state(state)
            except (RuntimeError, ValueError):
                self.disk.forget(path)
                return None
        super().__setitem__(tuple(state.input_ids[: state.n_tokens].tolist()), state)
        return state
