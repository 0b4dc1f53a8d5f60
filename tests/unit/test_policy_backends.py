"""VllmPolicy's use of vLLM's offline API, against a test double of the `vllm` module (no GPU
here): one `LLM.chat` over every query's conversation, `SamplingParams(n=...)` with a seed per
query, outputs read back as completions with token counts and finish reasons."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from kindling.agents.curate.config import PolicyConfig
from kindling.agents.curate.policy_backends import VllmPolicy


@dataclass
class SamplingParamsDouble:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int = 16
    seed: int | None = None


@dataclass
class _Out:
    text: str
    token_ids: list[int]
    finish_reason: str


@dataclass
class _Request:
    prompt_token_ids: list[int]
    outputs: list[_Out] = field(default_factory=list)


class LLMDouble:
    """Records its construction and chat calls; answers `reply-<query>-<i>`."""

    made: ClassVar[list[dict[str, Any]]] = []
    chats: ClassVar[list[tuple[list[Any], list[SamplingParamsDouble]]]] = []

    def __init__(self, **kwargs: Any) -> None:
        LLMDouble.made.append(kwargs)

    def get_tokenizer(self) -> Any:
        return types.SimpleNamespace(chat_template="{{ messages }}")

    def chat(self, conversations: list[Any], params: list[SamplingParamsDouble],
             use_tqdm: bool = True) -> list[_Request]:
        LLMDouble.chats.append((conversations, params))
        return [_Request([1, 2, 3], [_Out(f" reply-{c[0]['content']}-{i} ", [7] * (i + 1),
                                          "length" if i else "stop") for i in range(p.n)])
                for c, p in zip(conversations, params, strict=True)]


@pytest.fixture
def vllm_double(monkeypatch: pytest.MonkeyPatch) -> type[LLMDouble]:
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = LLMDouble, SamplingParamsDouble  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    LLMDouble.made, LLMDouble.chats = [], []
    return LLMDouble


def test_one_chat_call_with_n_samples_and_a_seed_per_query(vllm_double: type[LLMDouble]) -> None:
    cfg = PolicyConfig(model="runs/sft", max_new_tokens=40, temperature=0.8, top_p=0.9, top_k=0,
                       seed=3, dtype="bfloat16")
    policy = VllmPolicy("runs/sft", cfg)
    rows = policy.complete(["生日", "新年"], 2, 100)
    assert vllm_double.made == [{"model": "runs/sft", "dtype": "bfloat16", "seed": 3}]
    (conversations, params), = vllm_double.chats
    assert conversations == [[{"role": "user", "content": "生日"}], [{"role": "user", "content": "新年"}]]
    assert [(p.n, p.seed, p.max_tokens, p.top_k, p.temperature, p.top_p) for p in params] == [
        (2, 100, 40, -1, 0.8, 0.9), (2, 101, 40, -1, 0.8, 0.9)]
    assert [[c.text for c in row] for row in rows] == [["reply-生日-0", "reply-生日-1"],
                                                       ["reply-新年-0", "reply-新年-1"]]
    first = rows[0]
    assert (first[0].prompt_tokens, first[0].completion_tokens, first[0].finish_reason) == (3, 1, "stop")
    assert (first[1].completion_tokens, first[1].finish_reason) == (2, "length")
    assert len(policy.template_hash) == 16
