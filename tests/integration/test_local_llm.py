"""The in-process chat model on the real SmolLM2-135M GGUF (loaded once for the module, ~8 s on
2 cores)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
import torch
from kindling.agents.llm.local_model import LocalChatModel, load_local_chat_model
from kindling.agents.llm.schema_bounds import clamp_schema, max_json_bytes
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

pytestmark = pytest.mark.slow

SPRING = "春天来了，花园里的花朵竞相开放，蝴蝶在花丛中翩翩起舞，孩子们在草地上奔跑嬉戏，老人们坐在长椅上晒着太阳。"
LONG_CHINESE = "请判断下面这段文字是否具有创造性，并用中文详细说明理由，越详细越好：" + SPRING * 12


class Verdict(BaseModel):
    verdict: Literal[0, 1]
    reason: str


class Tags(BaseModel):
    tags: list[str]
    summary: str


def response_format(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": schema}}


@pytest.fixture(scope="module")
def chat() -> Iterator[LocalChatModel]:
    yield load_local_chat_model("smollm2", temperature=0.0)


def test_loading_a_gguf_leaves_the_gguf_module_as_it_was(chat: LocalChatModel) -> None:
    """The load shares one GGUF reader among transformers' loaders by patching `gguf` for its
    duration only."""
    import gguf
    from gguf.gguf_reader import GGUFReader
    from gguf.tensor_mapping import get_tensor_name_map

    assert gguf.GGUFReader is GGUFReader and gguf.get_tensor_name_map is get_tensor_name_map


def test_plain_chat_answer(chat: LocalChatModel) -> None:
    msg = chat.invoke([SystemMessage("Be brief."), HumanMessage("Say hello.")], max_new_tokens=24)
    assert isinstance(msg.content, str) and msg.content.strip()
    usage = msg.usage_metadata
    assert usage is not None and usage["input_tokens"] > 0 and 0 < usage["output_tokens"] <= 24
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert msg.response_metadata["model_name"] == "smollm2"
    assert msg.response_metadata["finish_reason"] in {"stop", "length"}


@pytest.mark.parametrize(
    "prompt",
    [
        "Is this line creative? 'The moon is a silver coin in the pocket of night.' Judge it.",
        "这句诗有创意吗？'月亮是夜晚口袋里的一枚银币。' 请用中文说明理由。",
        LONG_CHINESE,
    ],
    ids=["english", "chinese", "long-chinese"],
)
def test_structured_verdict_always_parses(chat: LocalChatModel, prompt: str) -> None:
    assert len(LONG_CHINESE) > 550
    msg = chat.invoke(prompt, response_format=response_format(Verdict))
    verdict = Verdict.model_validate(json.loads(msg.content))  # type: ignore[arg-type]
    assert len(verdict.reason) <= chat.max_string_chars
    assert msg.response_metadata["finish_reason"] == "stop"
    assert msg.usage_metadata is not None and msg.usage_metadata["output_tokens"] > 0


def test_array_schema_closes(chat: LocalChatModel) -> None:
    short = LocalChatModel(
        model=chat.model, tokenizer=chat.tokenizer, temperature=0.0, max_string_chars=16
    )
    msg = short.invoke("用中文列出这段文字的标签：" + SPRING, response_format=response_format(Tags))
    tags = Tags.model_validate(json.loads(msg.content))  # type: ignore[arg-type]
    assert len(tags.tags) <= 4 and all(len(tag) <= 16 for tag in tags.tags)
    assert msg.response_metadata["finish_reason"] == "stop"


def test_budget_is_raised_to_the_schema_bound(chat: LocalChatModel) -> None:
    """Even with a tiny default budget and hot sampling, a constrained answer closes."""
    tiny = LocalChatModel(
        model=chat.model, tokenizer=chat.tokenizer, model_name="tiny-budget",
        max_new_tokens=2, temperature=1.5, max_string_chars=10,
    )  # fmt: skip
    bound = max_json_bytes(clamp_schema(Verdict.model_json_schema(), 10))
    assert bound is not None
    for seed in (1, 2):
        msg = tiny.invoke(SPRING * 2, response_format=response_format(Verdict), seed=seed)
        Verdict.model_validate(json.loads(msg.content))  # type: ignore[arg-type]
        assert msg.usage_metadata is not None
        assert msg.usage_metadata["output_tokens"] <= bound + 1


def test_seed_makes_sampling_repeatable(chat: LocalChatModel) -> None:
    first = chat.invoke("Name a colour.", temperature=1.0, seed=7, max_new_tokens=8)
    again = chat.invoke("Name a colour.", temperature=1.0, seed=7, max_new_tokens=8)
    assert first.content == again.content


def test_local_folder_without_gguf_and_random_weights(chat: LocalChatModel, tmp_path: Path) -> None:
    """The plain from_pretrained path; a random tiny model is a harsh test of the grammar."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=chat.model.config.vocab_size, hidden_size=16, intermediate_size=32,
        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    chat.tokenizer.save_pretrained(tmp_path)
    tiny = load_local_chat_model(str(tmp_path), temperature=1.5)
    for seed in range(4):
        for schema in (Verdict, Tags):
            msg = tiny.invoke(LONG_CHINESE, response_format=response_format(schema), seed=seed)
            schema.model_validate(json.loads(msg.content))  # type: ignore[arg-type]
            assert msg.response_metadata["finish_reason"] == "stop"


async def test_async_path_serialises_and_keeps_loop_free(chat: LocalChatModel) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        first, second = await asyncio.gather(
            chat.ainvoke("Say hi.", max_new_tokens=6),
            chat.ainvoke("Reply with JSON.", response_format=response_format(Verdict)),
        )
    finally:
        task.cancel()
    assert isinstance(first.content, str) and first.content.strip()
    Verdict.model_validate(json.loads(second.content))  # type: ignore[arg-type]
    assert ticks > 3
