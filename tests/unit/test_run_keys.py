"""Run keys (what a rerun resumes by) stay as runs stored them: the prompt cache settings and the
local server's threads are no part of them, and `prompt_order` only when it is not the paper's order, which every run before
it used. The pinned keys are what these configs hashed to before either field existed."""

from __future__ import annotations

from typing import Any

from kindling.agents.adversarial.config import AdversarialConfig
from kindling.agents.curate.config import CurateConfig
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.llm.config import LLMConfig
from kindling.agents.run_key import key_fields

from kindling.services.adversarial import adversarial_run_key
from kindling.services.curate import run_key_for
from kindling.services.judge import judge_run_key

LOCAL_LLM = {"backend": "local", "model": "smollm2", "max_string_chars": 40}
CURATE_LOCAL = {"source": "dataset", "dataset": "evaluation_set", "limit": 4, "concurrency": 2,
                "llm": {**LOCAL_LLM, "temperature": 0.0, "max_tokens": 160},
                "retrieval": {"method": "bm25", "k": 2}}
ADVERSARIAL_LOCAL = {"iterations": 1, "batch_size": 2, "labelled_batch_size": 2,
                     "validation_size": 4, "llm": {**LOCAL_LLM, "temperature": 0.7,
                                                   "max_tokens": 200}}
CACHE_OFF = {"prompt_cache": False, "prompt_cache_mib": 64, "n_threads": 1}


def curate_key(cfg: dict[str, Any]) -> str:
    return run_key_for(CurateConfig.model_validate(cfg), "rules", "taskhash")


def adversarial_key(cfg: dict[str, Any]) -> str:
    return adversarial_run_key(AdversarialConfig.model_validate(cfg), "taskhash")


def test_keys_of_runs_stored_before_are_unchanged() -> None:
    assert run_key_for(CurateConfig(), "rules") == "curate:599d726f0726370c20c0accd2b7ceda7ac1b6f65"
    assert curate_key(CURATE_LOCAL) == "curate:9769e841f56f655adb83eb6066e6c38e530d4531"
    assert adversarial_key({}) == "adversarial:1e4e78a9a1caeab5fb5bd6b00d848b928bb1fb7c"
    assert adversarial_key(ADVERSARIAL_LOCAL) == (
        "adversarial:f83828040ad7f5093a0409a3f076f824bbc128c1")
    assert judge_run_key(JudgeConfig(), {"dataset": "x"}, [("q", "r")]) == (
        "judge:05891d1a5571054358234cf63f29b2e8175d00f1")


def test_the_local_server_settings_are_no_part_of_a_curate_key() -> None:
    llm, uncached = CURATE_LOCAL["llm"], {**CURATE_LOCAL["llm"], **CACHE_OFF}
    assert curate_key({**CURATE_LOCAL, "llm": uncached}) == curate_key(CURATE_LOCAL)
    assert curate_key({**CURATE_LOCAL, "llm": uncached, "generator": uncached}) == curate_key(
        {**CURATE_LOCAL, "generator": llm})


def test_the_local_server_settings_are_no_part_of_other_keys() -> None:
    adversarial = {**ADVERSARIAL_LOCAL, "llm": {**ADVERSARIAL_LOCAL["llm"], **CACHE_OFF},
                   "optimizer": {**LOCAL_LLM, **CACHE_OFF}}
    assert adversarial_key(adversarial) == adversarial_key(
        {**ADVERSARIAL_LOCAL, "optimizer": LOCAL_LLM})
    judge = JudgeConfig(llm=LLMConfig(**CACHE_OFF))
    assert judge_run_key(judge, {}, []) == judge_run_key(JudgeConfig(), {}, [])


def test_the_cache_friendly_order_is_another_run() -> None:
    reordered = {**CURATE_LOCAL, "prompt_order": "cache_friendly"}
    assert curate_key({**CURATE_LOCAL, "prompt_order": "paper"}) == curate_key(CURATE_LOCAL)
    assert curate_key(reordered) != curate_key(CURATE_LOCAL)
    assert adversarial_key({"prompt_order": "cache_friendly"}) != adversarial_key({})
    assert key_fields(CurateConfig.model_validate(reordered))["prompt_order"] == "cache_friendly"
