"""Batched generation from a policy model: transformers in this process, or vLLM on a GPU.

A backend answers `complete(queries, n, seed)`: for each query (formatted with the policy's own
chat template, as in SFT and GRPO), `n` sampled completions, all in one generate call.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Protocol

from kindling.agents.curate.config import PolicyConfig
from kindling.agents.llm.errors import LLMConfigError


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" or "length"


class PolicyBackend(Protocol):
    name: str
    template_hash: str  # of the chat template the prompts are formatted with

    def complete(self, queries: list[str], n: int, seed: int) -> list[list[Completion]]: ...


def chat_template_hash(tokenizer: Any) -> str:
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise LLMConfigError("the policy's tokenizer has no chat_template (needed to format prompts)")
    return hashlib.sha256(str(template).encode()).hexdigest()[:16]


class TransformersPolicy:
    """Left-padded batches through `model.generate` with `num_return_sequences=n`. One seed per
    call: the same batch of queries with the same seed draws the same samples."""

    name = "transformers"

    def __init__(self, model: Any, tokenizer: Any, cfg: PolicyConfig) -> None:
        self.model, self.tokenizer, self.cfg = model, tokenizer, cfg
        self.template_hash = chat_template_hash(tokenizer)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.eval()

    def complete(self, queries: list[str], n: int, seed: int) -> list[list[Completion]]:
        import torch

        tok = self.tokenizer
        texts = [tok.apply_chat_template([{"role": "user", "content": q}],
                                         add_generation_prompt=True, tokenize=False)
                 for q in queries]
        batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        device = next(self.model.parameters()).device
        sampling: dict[str, Any] = ({"do_sample": True, "temperature": self.cfg.temperature,
                                     "top_p": self.cfg.top_p, "top_k": self.cfg.top_k}
                                    if self.cfg.temperature > 0 else {"do_sample": False})
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(seed)
            out = self.model.generate(
                **{k: v.to(device) for k, v in batch.items()},
                max_new_tokens=self.cfg.max_new_tokens, num_return_sequences=n,
                pad_token_id=tok.pad_token_id, **sampling)
        new = out[:, batch["input_ids"].shape[1]:].tolist()
        prompt_lens = batch["attention_mask"].sum(dim=1).tolist()
        stops = _stop_ids(self.model, tok)
        rows = [self._completion(ids, int(prompt_lens[i // n]), stops) for i, ids in enumerate(new)]
        return [rows[i:i + n] for i in range(0, len(rows), n)]

    def _completion(self, ids: list[int], prompt_tokens: int, stops: set[int]) -> Completion:
        """One row cut at its first end-of-turn token (what follows is padding)."""
        ended = next((i for i, t in enumerate(ids) if t in stops), None)
        kept = ids if ended is None else ids[:ended]
        text = self.tokenizer.decode(kept, skip_special_tokens=True).strip()
        return Completion(text, prompt_tokens, len(kept) + (ended is not None),
                          "length" if ended is None else "stop")


def _stop_ids(model: Any, tokenizer: Any) -> set[int]:
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
    return {int(i) for i in ids if i is not None}


class VllmPolicy:
    """vLLM's offline engine: `LLM.chat` over every query with `SamplingParams(n=...)`, one seed
    per query (so a query's samples do not depend on its batch)."""

    name = "vllm"

    def __init__(self, path: str, cfg: PolicyConfig) -> None:
        from vllm import LLM

        self.cfg = cfg
        self.llm = LLM(model=path, dtype=cfg.dtype, seed=cfg.seed)
        self.template_hash = chat_template_hash(self.llm.get_tokenizer())

    def complete(self, queries: list[str], n: int, seed: int) -> list[list[Completion]]:
        from vllm import SamplingParams

        params = [SamplingParams(n=n, temperature=self.cfg.temperature, top_p=self.cfg.top_p,
                                 top_k=self.cfg.top_k or -1, max_tokens=self.cfg.max_new_tokens, seed=seed + i)
                  for i in range(len(queries))]
        outputs = self.llm.chat([[{"role": "user", "content": q}] for q in queries], params,
                                use_tqdm=False)
        return [[Completion(c.text.strip(), len(o.prompt_token_ids or []), len(c.token_ids),
                            "length" if c.finish_reason == "length" else "stop")
                 for c in o.outputs] for o in outputs]


def vllm_usable() -> bool:
    """vLLM is installed and a CUDA device is visible."""
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()
