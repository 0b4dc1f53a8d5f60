"""The completions a GRPO run keeps per logged step (rl/grpo_samples.py): taken from TRL's
completion log, token counts added to it through `log_extra`, nothing written off rank 0."""

from __future__ import annotations

import asyncio
import math
from collections import deque

import pytest
from kindling.rl.grpo_samples import (
    HIT_CAP,
    TOKENS,
    CompletionSampler,
    SamplesConfig,
    count_tokens,
    hit_the_cap,
    sample_rows,
    spread,
    weighted_total,
)
from kindling.store.completion_samples import sampled_steps, step_samples
from kindling.store.db import Store
from kindling.store.work import get_or_create_run

EOS = frozenset({2})


def trl_log(n: int = 8) -> dict:
    """A completion log as GRPOTrainer keeps it: conversational prompts and completions, one
    deque per reward (NaN: not scored), advantages and extra columns."""
    prompts = [[{"role": "user", "content": f"祝福 {i // 4}"}] for i in range(n)]
    completions = [[{"role": "assistant", "content": "好" * (i + 1)}] for i in range(n)]
    return {"prompt": deque(prompts), "completion": deque(completions),
            "rewards": {"rm": deque(float(i) for i in range(n)),
                        "judge": deque([math.nan] * (n - 1) + [1.0])},
            "advantages": deque(0.5 * i for i in range(n)),
            "extra": {TOKENS: deque(range(10, 10 + n)), HIT_CAP: deque([False] * (n - 1) + [True])}}


def test_spread_falls_on_different_prompts_and_keeps_all_of_a_small_batch() -> None:
    assert spread(16, 4) == [0, 4, 8, 12]
    assert spread(3, 4) == [0, 1, 2] and spread(0, 4) == [] and spread(5, 0) == []


def test_rows_come_from_trls_completion_log() -> None:
    rows = sample_rows(trl_log(), {"rm": 1.0, "judge": 2.0}, 2)
    assert [r["position"] for r in rows] == [0, 4]
    first, second = rows
    assert first["prompt"] == "祝福 0" and second["prompt"] == "祝福 1"
    assert first["completion"] == "好" and first["chars"] == 1
    assert first["rewards"] == {"rm": 0.0, "judge": None}  # NaN: not scored
    assert second["reward"] == 4.0 and second["advantage"] == 2.0
    assert (second["tokens"], second["hit_cap"]) == (14, False)
    last = sample_rows(trl_log(), {"rm": 1.0, "judge": 2.0}, 8)[-1]
    assert last["reward"] == 7.0 + 2.0 and last["hit_cap"] is True


def test_a_log_without_the_token_columns_leaves_them_unknown() -> None:
    log = trl_log(4) | {"extra": {}}
    assert [(r["tokens"], r["hit_cap"]) for r in sample_rows(log, {}, 4)] == [(None, None)] * 4
    assert weighted_total({"rm": None}, {"rm": 1.0}) is None


def test_a_completion_hits_the_cap_when_cut_there_without_an_end_token() -> None:
    assert hit_the_cap([5, 6, 7], 3, EOS)
    assert not hit_the_cap([5, 6, 2], 3, EOS)  # ended exactly at the cap
    assert not hit_the_cap([5, 2], 3, EOS) and not hit_the_cap([5, 6, 7], None, EOS)


@pytest.mark.parametrize("is_async", [False, True])
def test_the_first_reward_adds_token_columns_to_trls_log(is_async: bool) -> None:
    extra: dict[str, list] = {}

    def rm(prompts, completions, **kwargs):
        return [1.0] * len(completions)

    async def rm_async(prompts, completions, **kwargs):
        return [1.0] * len(completions)

    def guard(prompts, completions, **kwargs):
        return [0.0] * len(completions)

    first, second = count_tokens([rm_async if is_async else rm, guard], 3, EOS)
    assert first.__name__ == ("rm_async" if is_async else "rm") and second is guard
    kwargs = {"completion_ids": [[5, 6, 7], [5, 2]],
              "log_extra": lambda column, values: extra.setdefault(column, []).extend(values)}
    out = first(prompts=["a", "b"], completions=["xyz", "x"], **kwargs)
    assert (asyncio.run(out) if is_async else out) == [1.0, 1.0]
    assert extra == {TOKENS: [3, 2], HIT_CAP: [True, False]}


def test_only_the_main_process_writes(sqlite_store: Store) -> None:
    run, _ = get_or_create_run(sqlite_store, kind="grpo", run_key=None, config={},
                               code_version="t")
    for store in (None, sqlite_store):  # another rank's sampler has no store
        sampler = CompletionSampler(store, run.id, SamplesConfig(per_step=3, max_chars=50),
                                    {"rm": 1.0, "judge": 1.0})
        sampler.log = trl_log()
        sampler.keep(7)
    assert sampled_steps(sqlite_store, run.id) == [7]
    assert [r["position"] for r in step_samples(sqlite_store, run.id, 7)] == [0, 2, 5]


def test_a_batch_trained_on_for_several_steps_is_kept_once(sqlite_store: Store) -> None:
    """steps_per_generation 2: steps 1 and 2 train on one generation, 3 and 4 on the next; each
    batch is kept under the step that first logged it."""
    run, _ = get_or_create_run(sqlite_store, kind="grpo", run_key=None, config={},
                               code_version="t")
    sampler = CompletionSampler(sqlite_store, run.id, SamplesConfig(per_step=2, max_chars=50),
                                {"rm": 1.0})
    sampler.log = trl_log()
    sampler.keep(1)
    sampler.keep(2)  # the same batch, reused
    sampler.log["completion"].clear()  # TRL refills its log in place at the next generation
    sampler.log["completion"].extend([[{"role": "assistant", "content": "新" * (i + 1)}]
                                      for i in range(8)])
    sampler.keep(3)
    sampler.keep(4)
    assert sampled_steps(sqlite_store, run.id) == [1, 3]
    assert step_samples(sqlite_store, run.id, 3)[0]["completion"].startswith("新")
