"""Path B must not make its judge worse: the starting S_D is validated first, a revision that loses
on validation is rolled back, degenerate rules never become versions, and activation says so."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from kindling.agents.adversarial import reflect
from kindling.agents.adversarial.logic import not_worse, screen_rules
from kindling.store.db import Store
from kindling.store.principles import activation_doubts, get_version, register_version


def scripted_metrics(f1_by_version: dict[int, float]) -> Any:
    """A test double for the held-out validation: a fixed F1 per S_D version."""
    async def held_out(_ctx: Any, sd_id: int) -> dict[str, Any]:
        f1 = f1_by_version[sd_id]
        return {"f1": f1, "accuracy": f1, "precision": f1, "recall": f1, "n": 10, "failed": 0,
                "length_baseline": {"f1": 0.5, "accuracy": 0.5}}
    return held_out


def runtime(**context: Any) -> Any:
    base = {"max_iterations": 10, "calls_used": lambda: 0, "call_budget": None, "patience": 3}
    return SimpleNamespace(context=SimpleNamespace(**(base | context)))


async def test_a_revision_that_loses_is_rolled_back_and_one_that_ties_is_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reflect, "held_out_metrics", scripted_metrics({1: 0.6, 2: 0.4, 3: 0.6}))
    state: dict[str, Any] = {"iteration": 0, "sd_id": 1, "sd_rules": ["起点规则"], "sg_id": 9}
    state |= await reflect.validate_start(state, runtime())  # type: ignore[arg-type]
    assert (state["best_f1"], state["best_sd_id"]) == (0.6, 1)
    assert state["history"][0]["iteration"] == 0

    worse = {**state, "iteration": 1, "sd_id": 2, "sd_rules": ["更差的规则"], "refused": ["x: why"]}
    update = await reflect.validate(worse, runtime())  # type: ignore[arg-type]
    assert update["sd_id"] == 1 and update["sd_rules"] == ["起点规则"]  # rolled back
    assert update["history"][0]["accepted"] is False
    assert update["history"][0]["refused_rules"] == ["x: why"]
    assert "best_sd_id" not in update and update["stale"] == 1

    tie = {**state, "iteration": 2, "sd_id": 3, "sd_rules": ["一样好的规则"]}
    update = await reflect.validate(tie, runtime())  # type: ignore[arg-type]
    assert "sd_id" not in update and update["history"][0]["accepted"] is True  # kept, no gain
    assert update["stale"] == 1


def test_degenerate_rules_are_refused_and_counted() -> None:
    kept, refused = screen_rules([".-", "原则1", "{{[1]}}", "Rule 2", "[3]", "好",
                                  "回应请求的核心目的", "回应请求的核心目的。", "语气贴合双方关系"])
    assert kept == ["回应请求的核心目的", "语气贴合双方关系"]
    assert len(refused) == 7
    assert refused[0] == ".-: shorter than 4 letters"
    assert "原则1: placeholder or template fragment" in refused
    assert "回应请求的核心目的。: repeats a rule" in refused
    assert screen_rules([".{rule1}({addRule2}, {removeRule3})"])[0] == []  # seen from SmolLM2
    assert screen_rules(["newstyle", "语气贴合双方关系"], chinese=True) == (
        ["语气贴合双方关系"], ["newstyle: not in the set's language (no Chinese)"])
    assert screen_rules(["newstyle"])[0] == ["newstyle"]  # an English set keeps English rules
    kept, refused = screen_rules(["第一条规则内容", "第二条规则内容"], max_rules=1)
    assert kept == ["第一条规则内容"] and refused == ["第二条规则内容: over the 1-rule limit"]
    assert not_worse(0.5, 0.5) and not_worse(0.5, None) and not not_worse(0.49, 0.5)


def test_activation_doubts_name_the_start_and_the_length_rule(sqlite_store: Store) -> None:
    start = register_version(sqlite_store, kind="detector", name="s", text="起点规则",
                             origin="file", metrics={"f1": 0.7, "length_baseline": {"f1": 0.6}})
    worse = register_version(sqlite_store, kind="detector", name="r", text="修改后的规则",
                             origin="optimizer", parent_id=start,
                             metrics={"f1": 0.65, "length_baseline": {"f1": 0.8}})
    better = register_version(sqlite_store, kind="detector", name="b", text="更好的规则",
                              origin="optimizer", parent_id=start,
                              metrics={"f1": 0.9, "length_baseline": {"f1": 0.6}})
    assert activation_doubts(sqlite_store, get_version(sqlite_store, better)) == []
    doubts = activation_doubts(sqlite_store, get_version(sqlite_store, worse))
    assert doubts == [f"version {worse} (F1 0.650) is no better than its starting version "
                      f"{start} (F1 0.700)",
                      f"version {worse} (F1 0.650) is no better than the length-only rule on "
                      "the same validation items (F1 0.800)"]
    assert activation_doubts(sqlite_store, get_version(sqlite_store, start)) == [
        f"version {start} is a starting version: no revision of it did better on validation"]


class CountingOptimizerDouble:
    """A test double for the Optimizer: appends one rule per call, records the keys it was asked."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def call(self, key: Any, _prompt: Any, schema: Any) -> Any:
        self.keys.append(key.item_key)
        return schema(rules=["已有的规则内容", f"第{len(self.keys)}次改写的规则"])


@pytest.mark.parametrize(("mode", "keys"), [
    ("sequential", ["it1:opt_sg:0", "it1:opt_sg:1", "it1:opt_sg:2"]),
    ("batched", ["it1:opt_sg"])])
async def test_rewrites_one_per_feedback_item_in_order_or_one_per_phase(
        mode: str, keys: list[str]) -> None:
    from kindling.agents.adversarial.play import revise
    from kindling.agents.llm.caller import CallKey
    from kindling.agents.task import task_prompts

    optimizer = CountingOptimizerDouble()
    ctx = SimpleNamespace(rewrites=mode, optimizer=optimizer, prompts=task_prompts(),
                          max_rules=10)
    rules, refused = await revise(ctx, "adversarial/revise_strategies",  # type: ignore[arg-type]
                                  CallKey("it1:opt_sg", "revise_strategies"), "strategies",
                                  ["已有的规则内容"], ["反馈一", "反馈二", "反馈三"])
    assert optimizer.keys == keys and refused == []
    assert rules == ["已有的规则内容", f"第{len(keys)}次改写的规则"]  # the last rewrite wins
