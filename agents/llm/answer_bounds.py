"""One size bound for an answer, applied once where a reply comes in.

`received(message)` is the reply as Kindling keeps it: the answer (a forced tool call's arguments
as JSON, else the content) and the reasoning, each with registered keys redacted and cut to
`MAX_ANSWER_CHARS`. Everything downstream (the call log's raw output and reasoning, parse errors,
re-asks, a failed item's raw text in graph state and so in checkpoints) is made from it, so no
field anywhere holds more than the bound. The HTTP body itself is bounded before that
(`http_client.MAX_REPLY_BYTES`), so a huge reply never sits in memory whole.
"""

from __future__ import annotations

from typing import Any

from kindling.agents.llm.dialects import answer_text
from kindling.agents.llm.redaction import redact
from langchain_core.messages import AIMessage

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
