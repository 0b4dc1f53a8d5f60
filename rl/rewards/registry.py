"""Rewards by name, as config names them: what each is built from, and `build_rewards` for GRPO.

`rm`, `judge`, `length_control` and `guard` are Kindling's own (builtin.py, judge.py);
`repetition_penalty` and `soft_overlong` are TRL's helpers under Kindling names (trl_helpers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kindling.agents.language import DEFAULT_LANGUAGE, DEFAULT_UNIT
from kindling.rl.rewards.builtin import GuardReward, LengthControlReward, RMReward
from kindling.rl.rewards.core import RewardConfigError, RewardFunc
from kindling.rl.rewards.judge import JudgeBackend, JudgeReward
from kindling.rl.rewards.trl_helpers import (
    RewardOptions,
    build_repetition_penalty,
    build_soft_overlong,
)


@dataclass
class RewardContext:
    """What the named rewards are built from; a reward asked for needs its ingredients.

    Attributes:
        judge: the judge service (agents/judge/service.py: JudgeService) for `judge`.
        rm_model, rm_tokenizer: the reward model and its tokenizer for `rm`.
        rm_batch_size, device: RMReward's batch size and device.
        reference_lengths: reference response lengths (in `length_unit`) for `length_control`.
        length_tolerance: LengthControlReward's band half-width.
        reward_options: the options of the rewards built from TRL's helpers
            (`repetition_penalty`, `soft_overlong`), as `kindling.reward_options` gives them.
        max_completion_length: trl.max_completion_length, `soft_overlong`'s default limit.
        language: the task's language: the guard's rules (zh: the paper's task).
        length_unit: the task's length unit for `length_control` ("chars" or "words").
    """

    judge: JudgeBackend | None = None
    rm_model: Any = None
    rm_tokenizer: Any = None
    rm_batch_size: int = 16
    device: Any = None
    reference_lengths: Sequence[int] | None = None
    length_tolerance: float = 0.15
    reward_options: RewardOptions = field(default_factory=RewardOptions)
    max_completion_length: int | None = None
    language: str = DEFAULT_LANGUAGE
    length_unit: str = DEFAULT_UNIT


def _need(value: Any, name: str, what: str) -> Any:
    if value is None:
        raise RewardConfigError(f"reward {name!r} needs {what} in the reward context")
    return value


def _build_rm(ctx: RewardContext) -> RewardFunc:
    return RMReward(_need(ctx.rm_model, "rm", "rm_model"),
                    _need(ctx.rm_tokenizer, "rm", "rm_tokenizer"), ctx.rm_batch_size, ctx.device)


def _build_judge(ctx: RewardContext) -> RewardFunc:
    return JudgeReward(_need(ctx.judge, "judge", "a judge service"))


def _build_length(ctx: RewardContext) -> RewardFunc:
    lengths = _need(ctx.reference_lengths, "length_control", "reference_lengths")
    return LengthControlReward(list(lengths), ctx.length_tolerance, length_unit=ctx.length_unit)


def _build_guard(ctx: RewardContext) -> RewardFunc:
    return GuardReward(language=ctx.language)


def _build_repetition(ctx: RewardContext) -> RewardFunc:
    return build_repetition_penalty(ctx.reward_options)


def _build_overlong(ctx: RewardContext) -> RewardFunc:
    return build_soft_overlong(ctx.reward_options, ctx.max_completion_length)


BUILDERS: dict[str, Callable[[RewardContext], RewardFunc]] = {
    "rm": _build_rm, "judge": _build_judge, "length_control": _build_length, "guard": _build_guard,
    "repetition_penalty": _build_repetition, "soft_overlong": _build_overlong,
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
