"""`kindling train grpo` config: KindlingGRPO's reward checks (named keys), overrides, the shipped YAML."""

from pathlib import Path

import pytest
from kindling.rl.rewards.registry import BUILDERS
from kindling.rl.train_config import REWARD_NAMES, ConfigError, KindlingGRPO, load_train_config

ROOT = Path(__file__).resolve().parents[2]
JUDGE = {"principles": "detector_initial", "llm": {"backend": "openai", "model": "m"}}


def load(**sets: object) -> KindlingGRPO:
    base: dict[str, object] = {"kindling.model": "models/tiny", "trl.output_dir": "/tmp/unused",
                               "trl.use_cpu": True, "trl.report_to": "none"}
    kcfg, _ = load_train_config("grpo", None, {**base, **sets})
    assert isinstance(kcfg, KindlingGRPO)
    return kcfg


def test_reward_names_match_the_builders() -> None:
    assert REWARD_NAMES == tuple(BUILDERS)


def test_unknown_reward_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load(**{"kindling.rewards": {"foo": 1.0, "guard": 1.0}})
    message = str(err.value)
    assert "kindling.rewards" in message and "unknown reward 'foo'" in message
    assert "known: rm, judge, length_control, guard" in message


def test_empty_rewards_rejected() -> None:
    with pytest.raises(ConfigError, match="kindling.rewards"):
        load(**{"kindling.rewards": {}})


def test_rm_needs_rm_model_and_judge_needs_judge() -> None:
    with pytest.raises(ConfigError, match=r"kindling.rm_model: .*required when rewards include 'rm'"):
        load(**{"kindling.rewards": {"rm": 1.0}})
    with pytest.raises(ConfigError, match=r"kindling.judge: .*required when rewards include 'judge'"):
        load(**{"kindling.rewards": {"judge": 1.0}})
    with pytest.raises(ConfigError, match=r"kindling.rm_model: .*rewards do not include 'rm'"):
        load(**{"kindling.rewards": {"guard": 1.0}, "kindling.rm_model": "models/rm"})
    ok = load(**{"kindling.rewards": {"judge": 2.0, "rm": 1.0}, "kindling.rm_model": "models/rm",
                 "kindling.judge": JUDGE})
    assert ok.judge is not None and ok.judge.principles == "detector_initial"
    assert list(ok.rewards.items()) == [("judge", 2.0), ("rm", 1.0)]


def test_shipped_yaml_and_overrides() -> None:
    kcfg, trl_cfg = load_train_config("grpo", ROOT / "configs/grpo_tiny.yaml", {
        "kindling.limit": "8", "kindling.rewards": "{length_control: 0.5, guard: 1.0}",
        "kindling.rm_model": "null", "trl.max_steps": "2"})
    assert isinstance(kcfg, KindlingGRPO)
    assert kcfg.limit == 8 and kcfg.rewards == {"length_control": 0.5, "guard": 1.0}
    assert kcfg.dataset == "grpo_train" and kcfg.max_prompt_length == 64
    assert type(trl_cfg).__name__ == "GRPOConfig" and trl_cfg.max_steps == 2
    assert trl_cfg.num_generations == 4 and trl_cfg.per_device_train_batch_size == 16
    assert trl_cfg.loss_type == "dr_grpo" and trl_cfg.beta == 0.001


def test_shipped_yaml_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the shipped file's ../models/rm: ./models/rm of this folder
    kcfg, _ = load_train_config("grpo", ROOT / "configs/grpo_tiny.yaml", {})
    assert isinstance(kcfg, KindlingGRPO)
    assert kcfg.rewards == {"rm": 1.0, "length_control": 10.0}
    assert kcfg.rm_model == str(tmp_path / "models" / "rm")


def test_unknown_kindling_key_named() -> None:
    with pytest.raises(ConfigError, match="kindling.rewardz"):
        load(**{"kindling.rewardz": {"guard": 1.0}, "kindling.rewards": {"guard": 1.0}})
