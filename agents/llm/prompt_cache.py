"""llama.cpp's prompt cache as Kindling's offline server keeps it (imported by the server's child
process only).

With `cache` on, llama-cpp-python's server keeps, after each answer, the model's state for the
prompt and the answer (the KV cache of their tokens) in a `LlamaRAMCache`; a later request loads
the kept state that shares the longest start with its prompt and evaluates only the rest. An agent
role's prompt repeats its instructions for every item, so from the second item on only the item's
own text is evaluated.

`KeptPromptCache` is that cache with two fixes. llama-cpp-python keeps with each state a copy of
the model's logits buffer (n_batch × vocabulary floats: 100 MB for SmolLM2, beside 35 MB of KV
state for one of Path A's prompts) and counts only the KV state against the capacity, so its
2 GiB default could hold some 8 GB. With `logits_all` off, as Kindling runs it, that buffer is
never read (sampling reads llama.cpp's own logits, and a loaded state is always evaluated again
from at least its last token before sampling), so one row of it is kept (`load_state` broadcasts
it back) and the capacity counts everything a state holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from llama_cpp import LlamaRAMCache, LlamaState


def state_bytes(state: LlamaState) -> int:
    """The memory one kept state holds: llama.cpp's state, the token ids, the logits kept."""
    return int(state.llama_state_size) + state.input_ids.nbytes + state.scores.nbytes


class KeptPromptCache(LlamaRAMCache):
    """An LRU `LlamaRAMCache` keeping one logits row per state and counting all it keeps."""

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        value.scores = value.scores[:1].copy()
        super().__setitem__(key, value)

    @property
    def cache_size(self) -> int:
        return sum(state_bytes(state) for state in self.cache_state.values())
