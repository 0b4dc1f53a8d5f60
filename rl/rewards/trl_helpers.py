"""Rewards built from TRL's own helpers (`trl.rewards`), under Kindling names, and their options.

- `repetition_penalty`: ``trl.rewards.get_repetition_penalty_reward(ngram_size, max_penalty)``,
  ``(1 − unique n-grams / n-grams) × max_penalty`` per completion, 0 with no repeated n-gram.
- `soft_overlong`: ``trl.rewards.get_soft_overlong_punishment(max_completion_len,
  soft_punish_cache)`` (DAPO's overlong punishment): 0 up to ``L_max − L_cache`` tokens, then
  linearly down to −1 at ``L_max``, −1 beyond.

Both count **token ids** (``completion_ids``, which GRPOTrainer passes to every reward function),
not characters: the n-grams and lengths depend on the policy's tokenizer.

Their arguments are `kindling.reward_options.<name>` in a GRPO run config, checked at config load by
the option models here. The models mirror the helpers' parameters (names and defaults; a unit test
compares them with ``inspect.signature`` of TRL's functions, so drift is caught) without importing
trl: this module imports trl only where a reward is built, so config loading stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from kindling.agents.config import Strict
from kindling.rl.rewards.core import Reward, RewardConfigError
from pydantic import AfterValidator, Field, ValidationInfo, model_validator


class RepetitionPenaltyOptions(Strict):
    """`kindling.reward_options.repetition_penalty`: trl.rewards.get_repetition_penalty_reward's arguments."""

    ngram_size: int = Field(3, ge=1, description="Size of the token n-grams counted (TRL's default 3); a completion shorter than this gets 0.")
    max_penalty: float = Field(-1.0, le=0, description="The reward of a fully repetitive completion, at most 0 (TRL's default -1.0); one without a repeated n-gram gets 0.")


class SoftOverlongOptions(Strict):
    """`kindling.reward_options.soft_overlong`: trl.rewards.get_soft_overlong_punishment's arguments."""

    max_completion_len: int | None = Field(None, ge=1, description="L_max in tokens (None: trl.max_completion_length). Over it the reward is -1.")
    soft_punish_cache: int = Field(..., ge=0, description="L_cache in tokens: a completion longer than L_max - L_cache is penalized linearly, down to -1 at L_max. Required (TRL has no default; it depends on L_max).")

    @model_validator(mode="after")
    def _cache_within_max(self) -> SoftOverlongOptions:
        if self.max_completion_len is not None and self.soft_punish_cache > self.max_completion_len:
            raise ValueError(f"soft_punish_cache ({self.soft_punish_cache}) must be at most "
                             f"max_completion_len ({self.max_completion_len})")
        return self


class RewardOptions(Strict):
    """`kindling.reward_options`: the arguments of each reward built from a TRL helper."""

    repetition_penalty: RepetitionPenaltyOptions | None = Field(None, description="Options for the repetition_penalty reward (None: TRL's defaults).")
    soft_overlong: SoftOverlongOptions | None = Field(None, description="Options for the soft_overlong reward (required with it: soft_punish_cache).")


TRL_HELPERS: dict[str, tuple[str, type[Strict]]] = {
    "repetition_penalty": ("get_repetition_penalty_reward", RepetitionPenaltyOptions),
    "soft_overlong": ("get_soft_overlong_punishment", SoftOverlongOptions),
}
"""Kindling reward name -> (its function in trl.rewards, the options model mirroring its parameters)."""


def _required(model: type[Strict]) -> list[str]:
    return [name for name, info in model.model_fields.items() if info.is_required()]


def _options_match_rewards(value: RewardOptions, info: ValidationInfo) -> RewardOptions:
    """Options only for named rewards; a named reward with required options has them."""
    rewards = info.data.get("rewards")
    if rewards is None:  # rewards itself failed; that error is reported
        return value
    for name, (_, model) in TRL_HELPERS.items():
        given = getattr(value, name) is not None
        if given and name not in rewards:
            raise ValueError(f"options for {name!r}, which kindling.rewards does not name "
                             f"(add {name} to rewards or remove its options)")
        required = _required(model)
        if name in rewards and not given and required:
            raise ValueError(f"reward {name!r} needs options: set "
                             + ", ".join(f"kindling.reward_options.{name}.{key}" for key in required))
    return value


RewardOptionsField = Annotated[RewardOptions, AfterValidator(_options_match_rewards)]
"""KindlingGRPO.reward_options' type: RewardOptions, checked against the sibling `rewards` field."""


class TRLReward:
    """A reward function from trl.rewards under its Kindling name (TRL logs rewards/<name>/mean).

    TRL's helpers score ``completion_ids`` (each completion's token ids), which GRPOTrainer passes
    to every reward function; prompts and completion texts are not read. A callable class, not a
    closure, so it pickles as TRL's own helpers do.

    Args:
        name: the Kindling reward name (repetition_penalty, soft_overlong).
        helper: what trl.rewards' factory returned.
    """

    def __init__(self, name: str, helper: Callable[..., list[float]]) -> None:
        self.__name__ = name
        self.helper = helper

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],
                 completion_ids: Sequence[Sequence[int]] | None = None,
                 **kwargs: Any) -> list[Reward]:
        """One reward per completion, TRL's own values.

        Raises:
            ValueError: no ``completion_ids`` (the helpers count tokens, not characters).
        """
        if completion_ids is None:
            raise ValueError(f"reward {self.__name__!r} scores token ids: call it with "
                             "completion_ids=... (GRPOTrainer passes them)")
        return [float(r) for r in self.helper([list(ids) for ids in completion_ids])]


def build_repetition_penalty(options: RewardOptions) -> TRLReward:
    """`repetition_penalty`: trl.rewards.get_repetition_penalty_reward with the configured options."""
    from trl.rewards import get_repetition_penalty_reward

    opts = options.repetition_penalty or RepetitionPenaltyOptions()
    return TRLReward("repetition_penalty", get_repetition_penalty_reward(**opts.model_dump()))


def soft_overlong_arguments(options: RewardOptions, max_completion_length: int | None) -> dict[str, int]:
    """get_soft_overlong_punishment's arguments: the options, max_completion_len defaulting to
    trl.max_completion_length.

    Raises:
        RewardConfigError: no soft_punish_cache, no length limit at all, or a cache over the limit.
    """
    opts = options.soft_overlong
    if opts is None:
        raise RewardConfigError("reward 'soft_overlong' needs "
                                "kindling.reward_options.soft_overlong.soft_punish_cache")
    limit = opts.max_completion_len if opts.max_completion_len is not None else max_completion_length
    source = ("kindling.reward_options.soft_overlong.max_completion_len"
              if opts.max_completion_len is not None else "trl.max_completion_length")
    if limit is None:
        raise RewardConfigError("reward 'soft_overlong' needs a length limit: set trl.max_completion_length "
                                "or kindling.reward_options.soft_overlong.max_completion_len")
    if opts.soft_punish_cache > limit:
        raise RewardConfigError(f"kindling.reward_options.soft_overlong.soft_punish_cache "
                                f"({opts.soft_punish_cache}) must be at most {source} ({limit})")
    return {"max_completion_len": int(limit), "soft_punish_cache": opts.soft_punish_cache}


def build_soft_overlong(options: RewardOptions, max_completion_length: int | None) -> TRLReward:
    """`soft_overlong`: trl.rewards.get_soft_overlong_punishment (see soft_overlong_arguments)."""
    from trl.rewards import get_soft_overlong_punishment

    arguments = soft_overlong_arguments(options, max_completion_length)
    return TRLReward("soft_overlong", get_soft_overlong_punishment(**arguments))
