"""The GRPO judge reward over real HTTP against the stand-in server (Detector: Good iff ≥ 40 chars)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.service import build_judge_service, resolve_judge
from kindling.agents.llm.config import LLMConfig
from kindling.rl.rewards.judge import JudgeReward
from kindling.rl.rewards.registry import RewardContext, build_rewards
from kindling.store.db import Store
from kindling.store.work import get_or_create_run

from tests.integration.helpers import GREETINGS
from tests.standin import StandinConfig, StandinServer

KEY_ENV = "KINDLING_TEST_KEY"
LONG, SHORT = GREETINGS[2], GREETINGS[0]  # 47 and 4 characters


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k")


def judge_reward(store: Store, base_url: str) -> JudgeReward:
    llm = LLMConfig(backend="openai", base_url=base_url, model="standin", api_key_env=KEY_ENV,
                    timeout_s=2.0, max_retries=1, backoff_initial_s=0.01, backoff_max_s=0.02,
                    max_concurrency=8)
    run, _ = get_or_create_run(store, kind="grpo", run_key=None, config={}, code_version="test")
    return JudgeReward(build_judge_service(store, resolve_judge(store, JudgeConfig(llm=llm)), run.id))


def batch(n: int) -> tuple[list[list[dict[str, str]]], list[list[dict[str, str]]]]:
    prompts = [[{"role": "user", "content": f"写一句祝福（{i}）"}] for i in range(n)]
    completions = [[{"role": "assistant", "content": (LONG if i % 2 else SHORT) + f"#{i}"}]
                   for i in range(n)]
    return prompts, completions


async def test_long_and_short_then_cache_makes_no_request(sqlite_store: Store) -> None:
    prompts, completions = batch(8)
    logged: dict[str, float] = {}
    with StandinServer(StandinConfig(latency_s=0.01)) as server:
        reward = judge_reward(sqlite_store, server.base_url)
        first = await reward(prompts, completions, log_metric=logged.__setitem__)
        assert server.stats()["total"] == 8
        second = await reward(prompts, completions)
        assert server.stats()["total"] == 8  # every judgment came from the store
        await reward.aclose()
    assert first == [0.0, 1.0] * 4 and second == first
    assert reward.stats["judged"] == 8 and reward.stats["cached"] == 8
    assert reward.stats["failed"] == 0 and logged["judge/good"] == 0.5


async def test_failing_server_gives_none_and_counts(sqlite_store: Store) -> None:
    prompts, completions = batch(4)
    with StandinServer(StandinConfig(http_500=1.0)) as server:
        reward = judge_reward(sqlite_store, server.base_url)
        out = await reward(prompts, completions)
        await reward.aclose()
    assert out == [None] * 4
    assert reward.stats["failed"] == 4 and reward.stats["judged"] == 0


@pytest.fixture
def daemon_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop on a daemon thread, as GRPOTrainer runs async reward functions."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def test_runs_from_a_sync_loop_on_one_persistent_event_loop(
    sqlite_store: Store, daemon_loop: asyncio.AbstractEventLoop,
) -> None:
    with StandinServer(StandinConfig(latency_s=0.01)) as server:
        reward = judge_reward(sqlite_store, server.base_url)
        for step in range(3):  # training steps: the semaphore and HTTP client stay on one loop
            prompts, completions = batch(6)
            completions = [[{"role": "assistant", "content": m[0]["content"] + f"@{step}"}]
                           for m in completions]
            out = asyncio.run_coroutine_threadsafe(
                reward(prompts=prompts, completions=completions), daemon_loop).result(timeout=30)
            assert out == [0.0, 1.0] * 3
        asyncio.run_coroutine_threadsafe(reward.aclose(), daemon_loop).result(timeout=10)
        assert server.stats()["total"] == 18


def test_grpo_trainer_step_with_named_rewards(sqlite_store: Store, tmp_path: Path) -> None:
    """One real GRPOTrainer step: the async judge runs on TRL's loop and logs its own metrics."""
    from datasets import Dataset
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.train_from_iterator([*GREETINGS, "写一句祝福"], trainers.BpeTrainer(
        vocab_size=120, special_tokens=["<unk>", "<eos>", "<pad>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>",
                                        unk_token="<unk>")
    torch.manual_seed(0)
    policy = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id))
    with StandinServer(StandinConfig(latency_s=0.01)) as server:
        judge = judge_reward(sqlite_store, server.base_url)
        funcs, weights = build_rewards({"judge": 1.0, "guard": 1.0, "length_control": 0.5},
                                       RewardContext(judge=judge.service, reference_lengths=[8, 12]))
        args = GRPOConfig(output_dir=str(tmp_path / "grpo"), max_steps=1, num_generations=4,
                          per_device_train_batch_size=4, max_completion_length=8, report_to=[],
                          save_strategy="no", use_cpu=True, logging_steps=1,
                          reward_weights=weights)
        trainer = GRPOTrainer(model=policy, reward_funcs=[*funcs], args=args, processing_class=tokenizer,
                              train_dataset=Dataset.from_dict({"prompt": ["写一句祝福"] * 4}))
        assert trainer.reward_func_names == ["judge", "guard", "length_control"]
        trainer.train()
        reward = funcs[0]
        assert isinstance(reward, JudgeReward)
        asyncio.run_coroutine_threadsafe(reward.aclose(), trainer.async_loop).result(timeout=10)
        requests = server.stats()["total"]
    logs = trainer.state.log_history[0]
    assert {"rewards/judge/mean", "judge/failed", "guard/flagged",
            "length_control/out_of_band"} <= set(logs)
    assert reward.stats["items"] == 4 and reward.stats["failed"] == 0
    assert requests == reward.stats["judged"] >= 1  # identical completions are judged once
