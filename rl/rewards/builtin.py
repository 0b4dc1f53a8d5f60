"""The rewards that need no LLM: `length_control`, `guard`, and `rm` (a trained reward model's score)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from kindling.agents.judge.guard import check_response
from kindling.agents.language import DEFAULT_LANGUAGE, DEFAULT_UNIT, check_unit, text_length
from kindling.rl.rewards.core import (
    Completion,
    LogExtra,
    Reward,
    completion_text,
    content_text,
    emit_metric,
    is_conversational,
)


class LengthControlReward:
    """Penalizes drift from the reference length distribution (lengths in the task's unit).

    Inside the band ``[median × (1 − tolerance), median × (1 + tolerance)]`` of the reference
    lengths the reward is 0; outside it is ``−scale × distance / median`` (distance to the nearer
    band edge), capped at ``−max_penalty``. The paper data's labels track length, so a reward model
    or judge alone pushes completions longer; this pulls them back.

    Args:
        reference_lengths: lengths of reference responses in `length_unit`, e.g. the SFT targets.
        tolerance: half-width of the band, relative to the median.
        scale: penalty per unit of relative drift.
        max_penalty: the largest penalty (a positive number).
        length_unit: "chars" (the paper's task) or "words": how completions are measured.
    """

    def __init__(self, reference_lengths: Sequence[int], tolerance: float = 0.15,
                 scale: float = 1.0, max_penalty: float = 1.0,
                 length_unit: str = DEFAULT_UNIT) -> None:
        self.length_unit = check_unit(length_unit)
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
        """The reward for one completion of `length` (in `length_unit`)."""
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
        lengths = [text_length(completion_text(c), self.length_unit) for c in completions]
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
        language: the task's language, choosing the guard's rules.
    """

    def __init__(self, penalty: float = -1.0, language: str = DEFAULT_LANGUAGE) -> None:
        self.__name__ = "guard"
        self.language = language
        self.penalty = penalty
        self.flagged = 0

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Completion],
                 **kwargs: Any) -> list[Reward]:
        """One reward per completion; logs the flagged share and the rules broken."""
        checks = [check_response(completion_text(c), self.language) for c in completions]
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
        return "\n".join(content_text(m.get("content")) for m in messages)

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
