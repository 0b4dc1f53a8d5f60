"""One bound for an answer, applied where the reply comes in; the HTTP body bounded before it;
a file that is not GGUF named before llama.cpp starts."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from kindling.agents.llm.answer_bounds import (
    ANSWER_CHARS,
    MAX_ANSWER_CHARS,
    Reply,
    bounded,
    parse_answer,
    received,
)
from kindling.agents.llm.http_client import BoundedTransport, ReplyTooLarge, sdk_httpx
from kindling.agents.llm.llama_server import LlamaServerError, check_gguf
from kindling.agents.llm.parsing import OutputParseError
from kindling.agents.llm.redaction import forget_keys, register_key
from kindling.agents.llm.role_output import RoleOutput
from langchain_core.messages import AIMessage

KEY = "sk-bounds-PLANTED-77aa01"


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    register_key("BOUNDS_KEY", KEY)
    yield
    forget_keys()


class Verdict(RoleOutput):
    verdict: int


@pytest.mark.parametrize("length", [0, 10, MAX_ANSWER_CHARS, MAX_ANSWER_CHARS + 1, 10**6])
def test_a_cut_text_is_never_longer_than_the_bound(length: int) -> None:
    text = "长" * length
    cut = bounded(text)
    assert len(cut) <= MAX_ANSWER_CHARS
    assert cut == text if length <= MAX_ANSWER_CHARS else cut.endswith(" chars]")


def test_a_reply_is_redacted_and_bounded_as_it_comes_in() -> None:
    reply = AIMessage(content=f"{KEY} " + "x" * 10**6,
                      additional_kwargs={"reasoning_content": f"thinking {KEY}" * 10**5})
    kept = received(reply)
    assert isinstance(kept.content, str) and len(kept.content) <= MAX_ANSWER_CHARS
    assert kept.content.startswith("[REDACTED $BOUNDS_KEY] ")
    reasoning = kept.additional_kwargs["reasoning_content"]
    assert len(reasoning) <= MAX_ANSWER_CHARS and KEY not in reasoning
    assert kept.response_metadata[ANSWER_CHARS] > MAX_ANSWER_CHARS
    with pytest.raises(OutputParseError, match="more than the"):
        parse_answer(Reply(kept, str(kept.content), 1), Verdict, 512)


def test_a_tool_calls_arguments_are_the_answer_and_are_redacted() -> None:
    reply = AIMessage(content="", tool_calls=[{"name": "judge", "id": "1",
                                               "args": {"verdict": 1, "why": KEY}}])
    kept = received(reply)
    assert kept.content == '{"verdict": 1, "why": "[REDACTED $BOUNDS_KEY]"}' and not kept.tool_calls
    assert parse_answer(Reply(kept, str(kept.content), 1), Verdict, 512).verdict == 1


def client(body: bytes, limit: int, **headers: str) -> sdk_httpx.AsyncClient:
    inner = sdk_httpx.MockTransport(lambda request: sdk_httpx.Response(200, headers=headers,
                                                                       content=body))
    return sdk_httpx.AsyncClient(transport=BoundedTransport(inner, limit))


async def test_a_body_past_the_byte_bound_is_not_read() -> None:
    async with client(b"x" * 5000, 4096) as http:
        with pytest.raises(ReplyTooLarge, match="passed 4,096 bytes"):
            await http.get("http://endpoint.test/v1/models")
    async with client(b"x" * 4096, 4096) as http:
        assert len((await http.get("http://endpoint.test/v1/models")).content) == 4096


async def test_the_bound_counts_decompressed_bytes() -> None:
    bomb = gzip.compress(b"\0" * 10**7)  # 10 kB on the wire, 10 MB decoded
    async with client(bomb, 1_000_000, **{"content-encoding": "gzip"}) as http:
        with pytest.raises(ReplyTooLarge):
            await http.get("http://endpoint.test/v1/models")


def test_a_file_that_is_not_gguf_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.gguf").write_text("hello\n", encoding="utf-8")
    with pytest.raises(LlamaServerError, match=r"x\.gguf is not a GGUF file"):
        check_gguf(tmp_path / "x.gguf")
    with pytest.raises(LlamaServerError, match="does not exist"):
        check_gguf(tmp_path / "missing.gguf")
    (tmp_path / "real.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    check_gguf(tmp_path / "real.gguf")
