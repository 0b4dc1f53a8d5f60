"""Rewards built from TRL's helpers: TRL's own values, Kindling's names, options mirroring TRL."""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import pytest
import trl.rewards
from kindling.rl.rewards.core import RewardConfigError
from kindling.rl.rewards.registry import BUILDERS, RewardContext, build_rewards
from kindling.rl.rewards.trl_helpers import (
    TRL_HELPERS,
    RepetitionPenaltyOptions,
    RewardOptions,
    SoftOverlongOptions,
    TRLReward,
)
from kindling.rl.train_config import REWARD_NAMES
from pydantic_core import PydanticUndefined
from trl.rewards import get_repetition_penalty_reward, get_soft_overlong_punishment
from trl.trainer.utils import get_callable_name

IDS = [[1, 2, 3, 4], [5, 5, 5, 5, 5], [7], [1, 2, 1, 2, 1, 2], [], [3, 3, 4, 4, 3, 3, 4, 4, 9]]


def call(func: Any, ids: list[list[int]]) -> list[float | None]:
    """Call a reward as GRPOTrainer does: keywords, completion_ids among them."""
    n = len(ids)
    logged: dict[str, float] = {}
    return list(func(prompts=["p"] * n, completions=["c"] * n, completion_ids=ids,
                     trainer_state=None, log_metric=logged.__setitem__,
                     log_extra=lambda column, values: None))


@pytest.mark.parametrize("name", list(TRL_HELPERS))
def test_option_models_mirror_the_trl_signatures(name: str) -> None:
    helper, model = TRL_HELPERS[name]
    params = inspect.signature(getattr(trl.rewards, helper)).parameters
    assert list(model.model_fields) == list(params), f"{helper}'s parameters changed"
    for key, param in params.items():
        field = model.model_fields[key]
        if param.default is inspect.Parameter.empty:  # ours: required, or None = filled from trl
            assert field.is_required() or field.default is None, key
        else:
            assert field.default not in (PydanticUndefined, None) and field.default == param.default, key


def test_every_helper_reward_is_named_and_has_options() -> None:
    assert set(TRL_HELPERS) <= set(REWARD_NAMES) and set(TRL_HELPERS) <= set(BUILDERS)
    assert list(RewardOptions.model_fields) == list(TRL_HELPERS)


def test_repetition_penalty_gives_trl_values_under_its_name() -> None:
    options = RewardOptions(repetition_penalty=RepetitionPenaltyOptions(ngram_size=2, max_penalty=-0.5))
    funcs, weights = build_rewards({"guard": 1.0, "repetition_penalty": 0.5},
                                   RewardContext(reward_options=options))
    func = funcs[1]
    assert weights == [1.0, 0.5] and isinstance(func, TRLReward)
    assert func.__name__ == "repetition_penalty" and get_callable_name(func) == "repetition_penalty"
    assert call(func, IDS) == get_repetition_penalty_reward(ngram_size=2, max_penalty=-0.5)(IDS)
    assert call(func, [[1, 2, 3, 4], [5, 5, 5, 5, 5]]) == [0.0, -0.375]  # TRL's doc example, x0.5
    defaults, _ = build_rewards({"repetition_penalty": 1.0}, RewardContext())
    assert call(defaults[0], IDS) == get_repetition_penalty_reward()(IDS)  # TRL's defaults


def test_soft_overlong_gives_trl_values_limit_from_trl_config() -> None:
    lengths = [[1] * n for n in (3, 6, 7, 9, 10, 12)]
    options = RewardOptions(soft_overlong=SoftOverlongOptions(soft_punish_cache=4))
    funcs, _ = build_rewards({"soft_overlong": 1.0},
                             RewardContext(reward_options=options, max_completion_length=10))
    func = funcs[0]
    assert get_callable_name(func) == "soft_overlong"
    expected = get_soft_overlong_punishment(max_completion_len=10, soft_punish_cache=4)(lengths)
    assert call(func, lengths) == expected == [0.0, 0.0, -0.25, -0.75, -1.0, -1.0]
    own = RewardOptions(soft_overlong=SoftOverlongOptions(max_completion_len=8, soft_punish_cache=2))
    funcs, _ = build_rewards({"soft_overlong": 1.0},
                             RewardContext(reward_options=own, max_completion_length=10))
    assert call(funcs[0], lengths) == get_soft_overlong_punishment(8, 2)(lengths)


def test_soft_overlong_needs_a_cache_and_a_limit_that_holds_it() -> None:
    with pytest.raises(RewardConfigError, match="soft_overlong.soft_punish_cache"):
        build_rewards({"soft_overlong": 1.0}, RewardContext(max_completion_length=10))
    options = RewardOptions(soft_overlong=SoftOverlongOptions(soft_punish_cache=16))
    with pytest.raises(RewardConfigError, match=r"must be at most trl\.max_completion_length \(10\)"):
        build_rewards({"soft_overlong": 1.0}, RewardContext(reward_options=options, max_completion_length=10))
    with pytest.raises(RewardConfigError, match="needs a length limit"):
        build_rewards({"soft_overlong": 1.0}, RewardContext(reward_options=options))


def test_helper_rewards_need_token_ids_and_pickle() -> None:
    funcs, _ = build_rewards({"repetition_penalty": 1.0}, RewardContext())
    with pytest.raises(ValueError, match="scores token ids"):
        funcs[0](["p"], ["c"])
    copy = pickle.loads(pickle.dumps(funcs[0]))  # TRL's async rollout worker pickles reward funcs
    assert copy.__name__ == "repetition_penalty" and call(copy, IDS) == call(funcs[0], IDS)
