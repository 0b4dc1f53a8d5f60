"""What every GRPO reward shares: TRL's reward signature, reading completions and prompts, logging a metric."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from kindling.store.errors import UserError

Reward = float | None


Completion = str | Sequence[Mapping[str, Any]]


LogMetric = Callable[[str, float], None]


LogExtra = Callable[[str, list[Any]], None]


class RewardFunc(Protocol):
    """TRL's reward-function contract (sync form; `JudgeReward` is the async form)."""

    __name__: str

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],
                 **kwargs: Any) -> Any: ...


class RewardConfigError(UserError):
    """A reward name that is unknown, or one whose ingredients the context does not hold."""


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts ({"type": "text", ...})."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(part.get("text", "") if isinstance(part, Mapping) else str(part)
                       for part in content)
    return str(content)


def completion_text(completion: Completion) -> str:
    """The generated text: the string itself, or the assistant messages' contents joined.

    Args:
        completion: a string (standard format) or a list of messages (conversational format).
            A message list without an assistant message yields every message's content.
    """
    if isinstance(completion, str):
        return completion
    messages = list(completion)
    said = [m for m in messages if m.get("role", "assistant") == "assistant"] or messages
    return "".join(content_text(m.get("content")) for m in said)


def prompt_text(prompt: Completion) -> str:
    """The query a completion answers: the string itself, or the last user message's content."""
    if isinstance(prompt, str):
        return prompt
    messages = list(prompt)
    users = [m for m in messages if m.get("role") == "user"] or messages
    return content_text(users[-1].get("content")) if users else ""


def is_conversational(sample: Any) -> bool:
    """Whether a prompt or completion is a list of messages (TRL's conversational format)."""
    return not isinstance(sample, str) and isinstance(sample, Sequence)


def emit_metric(kwargs: Mapping[str, Any], name: str, value: float) -> None:
    """Log a scalar through TRL's `log_metric` kwarg when the caller passed one."""
    log_metric: LogMetric | None = kwargs.get("log_metric")
    if log_metric is not None:
        log_metric(name, float(value))
