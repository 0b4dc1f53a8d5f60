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
"""

from __future__ import annotations

from llama_cpp import Llama, LlamaRAMCache, LlamaState


def state_bytes(state: LlamaState) -> int:
    """The memory one kept state holds: llama.cpp's state, the token ids, the logits kept."""
    return int(state.llama_state_size) + state.input_ids.nbytes + state.scores.nbytes


def keep_logits_row(llama: Llama) -> None:
    """Cut the logits buffer of a model run with `logits_all` off to one row (nothing reads it),
    so that saving and loading a prompt's state copies 0.2 MB of it, not 100 MB (SmolLM2)."""
    llama.scores = llama.scores[:1].copy()


class KeptPromptCache(LlamaRAMCache):
    """An LRU `LlamaRAMCache` that counts everything a state holds against its capacity."""

    @property
    def cache_size(self) -> int:
        return sum(state_bytes(state) for state in self.cache_state.values())
