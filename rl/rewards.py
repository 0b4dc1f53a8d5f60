"""GRPO reward functions, named in config and weighted: `rm`, `judge`, `length_control`, `guard`.

Every reward is a small callable class with TRL's reward-function signature
``(prompts, completions, **kwargs) -> list[float | None]`` and a ``__name__`` (TRL names the
``rewards/<name>/mean`` metrics after it). TRL 1.16's GRPOTrainer passes, among its kwargs,
``log_metric(name, value)`` (scalar metrics averaged per logging step) and
``log_extra(column, values)`` (extra columns of the completions table); the rewards here log
through them when given, and work without them (called outside a trainer).

Completions are plain strings (standard format) or lists of ``{"role", "content"}`` messages
(conversational format); `completion_text` and `prompt_text` read both.

`None` for one completion means "no reward from this function" (TRL turns it into NaN and leaves
it out of that function's mean; a completion with no reward at all gets zero advantage).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agents.guard import check_response
from store.errors import UserError

if TYPE_CHECKING:
    from rl.judge_reward import JudgeBackend

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


def _content_text(content: Any) -> str:
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
    return "".join(_content_text(m.get("content")) for m in said)


def prompt_text(prompt: Completion) -> str:
    """The query a completion answers: the string itself, or the last user message's content."""
    if isinstance(prompt, str):
        return prompt
    messages = list(prompt)
    users = [m for m in messages if m.get("role") == "user"] or messages
    return _content_text(users[-1].get("content")) if users else ""


def is_conversational(sample: Any) -> bool:
    """Whether a prompt or completion is a list of messages (TRL's conversational format)."""
    return not isinstance(sample, str) and isinstance(sample, Sequence)


def emit_metric(kwargs: Mapping[str, Any], name: str, value: float) -> None:
    """Log a scalar through TRL's `log_metric` kwarg when the caller passed one."""
    log_metric: LogMetric | None = kwargs.get("log_metric")
    if log_metric is not None:
        log_metric(name, float(value))


class LengthControlReward:
    """Penalizes drift from the reference length distribution (lengths in characters).

    Inside the band ``[median × (1 − tolerance), median × (1 + tolerance)]`` of the reference
    lengths the reward is 0; outside it is ``−scale × distance / median`` (distance to the nearer
    band edge), capped at ``−max_penalty``. The paper data's labels track length, so a reward model
    or judge alone pushes completions longer; this pulls them back.

    Args:
        reference_lengths: lengths (characters) of reference responses, e.g. the SFT targets.
        tolerance: half-width of the band, relative to the median.
        scale: penalty per unit of relative drift.
        max_penalty: the largest penalty (a positive number).
    """

    def __init__(self, reference_lengths: Sequence[int], tolerance: float = 0.15,
                 scale: float = 1.0, max_penalty: float = 1.0) -> None:
        if not reference_lengths:
            raise ValueError("length_control needs at least one reference length")
        if tolerance < 0 or scale < 0 or max_penalty <= 0:
            raise ValueError("tolerance and scale must be >= 0 and max_penalty > 0")
        self.__name__ = "length_control"
        self.median = float(statistics.median(reference_lengths))
        if self.median <= 0:
            raise ValueError("length_control needs a positive median reference length")
        self.low = self.median * (1 - tolerance)
        self.high = self.median * (1 + tolerance)
        self.scale, self.max_penalty = scale, max_penalty

    def reward(self, length: int) -> float:
        """The reward for one completion of `length` characters."""
        if length < self.low:
            drift = (self.low - length) / self.median
        elif length > self.high:
            drift = (length - self.high) / self.median
        else:
            return 0.0
        return -min(self.scale * drift, self.max_penalty)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Completion],
                 **kwargs: Any) -> list[Reward]:
        """One reward per completion; logs mean length and the share outside the band."""
        lengths = [len(completion_text(c)) for c in completions]
        rewards: list[Reward] = [self.reward(n) for n in lengths]
        if lengths:
            emit_metric(kwargs, "length_control/mean_length", statistics.fmean(lengths))
            emit_metric(kwargs, "length_control/out_of_band",
                 sum(r != 0.0 for r in rewards) / len(rewards))
        return rewards


class GuardReward:
    """−1.0 for a completion that talks to the judge (agents.guard.check_response), else 0.0.

    Args:
        penalty: the reward of a flagged completion.
    """

    def __init__(self, penalty: float = -1.0) -> None:
        self.__name__ = "guard"
        self.penalty = penalty
        self.flagged = 0

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Completion],
                 **kwargs: Any) -> list[Reward]:
        """One reward per completion; logs the flagged share and the rules broken."""
        checks = [check_response(completion_text(c)) for c in completions]
        rewards: list[Reward] = [self.penalty if flagged else 0.0 for flagged, _ in checks]
        hits = sum(flagged for flagged, _ in checks)
        self.flagged += hits
        if checks:
            emit_metric(kwargs, "guard/flagged", hits / len(checks))
            log_extra: LogExtra | None = kwargs.get("log_extra")
            if log_extra is not None:
                log_extra("guard", [",".join(reasons) for _, reasons in checks])
        return rewards


class RMReward:
    """A trained reward model's score (sequence classification, one logit) of prompt + completion.

    Conversational samples go through the tokenizer's chat template (prompt messages followed by
    the completion's), as TRL's RewardTrainer formats them; a tokenizer without one gets the
    messages' contents joined by newlines. Standard samples are ``prompt + completion``.

    Args:
        model: a sequence-classification model with ``num_labels=1`` (e.g. from RewardTrainer).
        tokenizer: its tokenizer (needs a pad token).
        batch_size: completions scored per forward pass.
        device: where the model runs (default: where its parameters are).
        max_length: truncate longer inputs (None: no truncation).
    """

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 16,
                 device: Any = None, max_length: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.__name__ = "rm"
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_length = batch_size, max_length
        self.device = device if device is not None else next(model.parameters()).device
        self.model.to(self.device)

    def text(self, prompt: Completion, completion: Completion) -> str:
        """The text the reward model reads for one (prompt, completion)."""
        if not (is_conversational(prompt) or is_conversational(completion)):
            return str(prompt) + str(completion)
        messages = _as_messages(prompt, "user") + _as_messages(completion, "assistant")
        if getattr(self.tokenizer, "chat_template", None):
            return str(self.tokenizer.apply_chat_template(messages, tokenize=False))
        return "\n".join(_content_text(m.get("content")) for m in messages)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Completion],
                 **kwargs: Any) -> list[Reward]:
        """One score per completion (no gradients); logs the batch mean."""
        import torch

        texts = [self.text(p, c) for p, c in zip(prompts, completions, strict=True)]
        scores: list[Reward] = []
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(texts), self.batch_size):
                    batch = self.tokenizer(
                        texts[start:start + self.batch_size], return_tensors="pt", padding=True,
                        padding_side="right", add_special_tokens=False,
                        truncation=self.max_length is not None, max_length=self.max_length)
                    batch = {k: v.to(self.device) for k, v in batch.items()}
                    logits = self.model(**batch).logits[:, 0]
                    scores.extend(float(x) for x in logits.float().cpu())
        finally:
            self.model.train(was_training)
        if scores:
            emit_metric(kwargs, "rm/score_mean", statistics.fmean(s for s in scores if s is not None))
        return scores


def _as_messages(sample: Completion, role: str) -> list[Mapping[str, Any]]:
    if isinstance(sample, str):
        return [{"role": role, "content": sample}]
    return list(sample)


@dataclass
class RewardContext:
    """What the named rewards are built from; a reward asked for needs its ingredients.

    Attributes:
        judge: the judge service (agents.judge_service.JudgeService) for `judge`.
        rm_model, rm_tokenizer: the reward model and its tokenizer for `rm`.
        rm_batch_size, device: RMReward's batch size and device.
        reference_lengths: reference response lengths (characters) for `length_control`.
        length_tolerance: LengthControlReward's band half-width.
    """

    judge: JudgeBackend | None = None
    rm_model: Any = None
    rm_tokenizer: Any = None
    rm_batch_size: int = 16
    device: Any = None
    reference_lengths: Sequence[int] | None = None
    length_tolerance: float = 0.15


def _need(value: Any, name: str, what: str) -> Any:
    if value is None:
        raise RewardConfigError(f"reward {name!r} needs {what} in the reward context")
    return value


def _build_rm(ctx: RewardContext) -> RewardFunc:
    return RMReward(_need(ctx.rm_model, "rm", "rm_model"),
                    _need(ctx.rm_tokenizer, "rm", "rm_tokenizer"), ctx.rm_batch_size, ctx.device)


def _build_judge(ctx: RewardContext) -> RewardFunc:
    from rl.judge_reward import JudgeReward

    return JudgeReward(_need(ctx.judge, "judge", "a judge service"))


def _build_length(ctx: RewardContext) -> RewardFunc:
    lengths = _need(ctx.reference_lengths, "length_control", "reference_lengths")
    return LengthControlReward(list(lengths), ctx.length_tolerance)


def _build_guard(ctx: RewardContext) -> RewardFunc:
    return GuardReward()


BUILDERS: dict[str, Callable[[RewardContext], RewardFunc]] = {
    "rm": _build_rm, "judge": _build_judge, "length_control": _build_length, "guard": _build_guard,
}
"""Reward names accepted in config, and how each is built."""


def build_rewards(names_and_weights: Mapping[str, float] | Sequence[tuple[str, float]],
                  context: RewardContext) -> tuple[list[RewardFunc], list[float]]:
    """The reward functions and weights for GRPOConfig(reward_weights=...), in the given order.

    Args:
        names_and_weights: reward name -> weight (or (name, weight) pairs).
        context: what the rewards are built from.

    Returns:
        (funcs, weights), aligned.

    Raises:
        RewardConfigError: an unknown name (the known ones are listed), a name given twice, or a
            reward whose ingredients the context lacks.
    """
    pairs = list(names_and_weights.items() if isinstance(names_and_weights, Mapping)
                 else names_and_weights)
    if not pairs:
        raise RewardConfigError("no rewards named; known rewards: " + ", ".join(BUILDERS))
    unknown = [name for name, _ in pairs if name not in BUILDERS]
    if unknown:
        raise RewardConfigError(f"unknown reward {unknown[0]!r}; known rewards: "
                                + ", ".join(BUILDERS))
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise RewardConfigError(f"a reward is named twice: {names}")
    funcs = [BUILDERS[name](context) for name in names]
    return funcs, [float(weight) for _, weight in pairs]
