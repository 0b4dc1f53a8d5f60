"""One size bound for an answer, applied once where a reply comes in, and the answer parsed.

`received(message)` is the reply as Kindling keeps it: the answer (a forced tool call's arguments
as JSON, else the content) and the reasoning, each with registered keys redacted and cut to
`MAX_ANSWER_CHARS`. Everything downstream (the call log's raw output and reasoning, parse errors,
re-asks, a failed item's raw text in graph state and so in checkpoints) is made from it, so no
field anywhere holds more than the bound. The HTTP body itself is bounded before that
(`http_client.MAX_REPLY_BYTES`), so a huge reply never sits in memory whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from kindling.agents.llm.dialects import answer_text
from kindling.agents.llm.parsing import OutputParseError, parse_output
from kindling.agents.llm.redaction import redact
from langchain_core.messages import AIMessage
from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)

MAX_ANSWER_CHARS = 40_000
"""The bound on one answer (and on its reasoning), wherever it is kept. The longest valid answer
of any role (9 findings of 2 × 300 characters, about 6,000 characters of JSON) fits even with every
character written as a 6-character \\u escape; a longer answer is refused unparsed."""

MAX_EXCERPT_CHARS = 2_000
"""Of a bad answer, sent back when re-asking."""

ANSWER_CHARS = "kindling_answer_chars"
"""`response_metadata` key: the answer's length as it came, before the cut."""


def bounded(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """`text`, cut to at most `limit` characters in all, ending with a note of how much was cut."""
    if len(text) <= limit:
        return text
    keep = max(limit - len(f"…[+{len(text)} chars]"), 0)  # the note is never longer than this
    return f"{text[:keep]}…[+{len(text) - keep} chars]"


def excerpt(text: str, limit: int = MAX_EXCERPT_CHARS) -> str:
    """Of a bad answer, the part sent back when re-asking."""
    return bounded(text, limit)


def received(message: AIMessage) -> AIMessage:
    """The reply as it is kept: answer and reasoning redacted and bounded, the answer's original
    length noted (`ANSWER_CHARS`) so an over-long one can be refused."""
    answer = redact(answer_text(message.content, message.tool_calls))
    kwargs: dict[str, Any] = {}
    reasoning = message.additional_kwargs.get("reasoning_content")
    if reasoning:
        kwargs["reasoning_content"] = bounded(redact(str(reasoning)))
    metadata = {**message.response_metadata, ANSWER_CHARS: len(answer)}
    return AIMessage(content=bounded(answer), additional_kwargs=kwargs,
                     response_metadata=metadata, usage_metadata=message.usage_metadata,
                     id=message.id)


@dataclass
class Reply:
    """One answered request: the message, its answer text and the attempt number it took."""

    message: AIMessage
    text: str
    attempt: int


def parse_answer(reply: Reply, schema: type[T], max_tokens: int) -> T:
    """The reply's answer parsed into `schema`.

    Raises:
        OutputParseError: a blank answer, a token budget spent on thinking, an answer longer than
            any valid one, or one that does not parse and validate (the message says which).
    """
    raw = reply.text
    if not raw.strip():
        reasoning = reply.message.additional_kwargs.get("reasoning_content")
        if reasoning and reply.message.response_metadata.get("finish_reason") == "length":
            raise OutputParseError(
                f"max_tokens ({max_tokens}) was spent on thinking ({len(reasoning)} characters "
                "of reasoning, no answer): raise max_tokens or lower the reasoning effort")
        raise OutputParseError("blank answer: the content was empty")
    length = reply.message.response_metadata.get(ANSWER_CHARS, len(raw))
    if length > MAX_ANSWER_CHARS:
        raise OutputParseError(f"the answer has {length} characters, more than the "
                               f"{MAX_ANSWER_CHARS} any valid answer can take; answer briefly")
    return parse_output(raw, schema)
