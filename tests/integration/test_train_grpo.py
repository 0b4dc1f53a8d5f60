"""`kindling train grpo`: real TRL GRPO runs of a tiny policy on the imported paper prompts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from kindling.rl.data import prompt_dataset
from kindling.store.completion_samples import sampled_steps, step_samples
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from sqlalchemy import func, select
from transformers import Qwen2ForCausalLM
from typer.testing import CliRunner, Result

from kindling.cli import app
from tests.integration.test_train_sft import build_tiny_model, flat
from tests.standin import StandinConfig, StandinServer

KEY_ENV = "KINDLING_TEST_KEY"


@pytest.fixture
def sqlite_store(paper_store: Store) -> Store:
    """Every test here trains on the paper's prompts: the store at `sqlite_url` holds the paper
    data (a copy of the session's import)."""
    return paper_store


@pytest.fixture
def policy_dir(tmp_path: Path, sqlite_store: Store) -> Path:
    """A tiny policy whose tokenizer knows the first imported prompts' characters."""
    prompts = [row["prompt"][0]["content"] for row in prompt_dataset(sqlite_store, "grpo_train", 8)]
    torch.manual_seed(0)
    build_tiny_model(tmp_path / "policy", [*prompts, "生日快乐！新年快乐，万事如意。"])
    return tmp_path / "policy"


def write_config(tmp_path: Path, policy: Path, rewards: str, extra: str = "",
                 name: str = "grpo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(
        f"kindling:\n  model: {policy}\n  limit: 8\n  rewards: {rewards}\n{extra}"
        f"trl:\n  output_dir: {tmp_path / 'out'}\n  max_steps: 2\n  num_generations: 4\n"
        "  per_device_train_batch_size: 4\n  max_completion_length: 16\n  learning_rate: 1.0e-2\n"
        "  beta: 0.001\n  loss_type: dr_grpo\n  logging_steps: 1\n  save_strategy: 'no'\n"
        "  bf16: false\n  use_cpu: true\n  report_to: none\n  seed: 0\n  dataloader_num_workers: 0\n",
        encoding="utf-8")
    return path


def grpo(sqlite_url: str, cfg: Path, *sets: str) -> Result:
    args = ["--db-url", sqlite_url, "train", "grpo", "--config", str(cfg), "--no-progress"]
    for item in sets:
        args += ["--set", item]
    return CliRunner().invoke(app, args)


def test_grpo_updates_the_policy_and_records_reward_metrics(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, policy_dir: Path
) -> None:
    before = Qwen2ForCausalLM.from_pretrained(policy_dir).state_dict()
    cfg = write_config(tmp_path, policy_dir, "{length_control: 1.0, guard: 1.0}")
    result = grpo(sqlite_url, cfg)
    assert result.exit_code == 0, result.output
    after = Qwen2ForCausalLM.from_pretrained(tmp_path / "out").state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)

    with sqlite_store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == "grpo")).one()
        assert run.status == "finished"
        assert run.config["kindling"]["limit"] == 8
        assert run.config["trl"]["reward_weights"] == [1.0, 1.0]
        steps = [e for e in run.metrics["steps"] if "reward" in e]
    assert [e["step"] for e in steps] == [1, 2]
    for entry in steps:
        assert {"reward", "rewards/length_control/mean", "rewards/guard/mean",
                "completions/mean_length", "length_control/mean_length", "kl", "loss"} <= set(entry)
        assert {"watch/length_chars", "watch/length_drift", "watch/out_of_band",
                "watch/distinct_2", "watch/repetition", "watch/guard_flagged"} <= set(entry)
        assert entry["watch/length_chars"] == pytest.approx(entry["length_control/mean_length"])
    low, high = run.metrics["length_band"]  # characters, drawn on the length curve
    assert 0 < low < high and run.name == "grpo-length+guard"
    assert run.metrics["watch"]["reference"]["source"] == "length_control"
    assert run.metrics["watch"]["rules"][0] == "length_drift > 0.3 for 5 steps → warn"
    assert run.metrics["final"]["train_runtime"] > 0
    assert run.metrics["checkpoints"] == [str(tmp_path / "out")]
    # what the policy wrote: the whole 4-completion batch of each step, as TRL's log held it
    assert sampled_steps(sqlite_store, run.id) == [1, 2]
    for entry in steps:
        samples = step_samples(sqlite_store, run.id, entry["step"])
        assert [s["position"] for s in samples] == [0, 1, 2, 3]
        for s in samples:
            assert set(s["rewards"]) == {"length_control", "guard"} and s["prompt"]
            assert s["reward"] == pytest.approx(sum(s["rewards"].values()))
            assert s["chars"] == len(s["completion"]) and 0 < s["tokens"] <= 16
            assert not s["hit_cap"] or s["tokens"] == 16
        assert sum(s["hit_cap"] for s in samples) / 4 == entry["completions/clipped_ratio"]
        assert sum(s["tokens"] for s in samples) / 4 == entry["completions/mean_length"]


def test_a_stop_rule_ends_the_run_and_says_why(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, policy_dir: Path
) -> None:
    rule = "  watch: {rules: [{metric: length_chars, above: 0, for_steps: 1, action: stop}]}\n"
    cfg = write_config(tmp_path, policy_dir, "{length_control: 1.0}", extra=rule)
    result = grpo(sqlite_url, cfg, "trl.max_steps=3")
    assert result.exit_code == 0, result.output
    assert "watch stopping at step 1: length_chars > 0 for step" in flat(result.output)
    assert "stopped early at step 1 by the watch rule length_chars > 0 for step" in \
        flat(result.output)
    with sqlite_store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == "grpo")).one()
    assert run.status == "finished" and run.metrics["stopped_by"]["step"] == 1
    assert [e["step"] for e in run.metrics["steps"] if "reward" in e] == [1]
    assert run.metrics["watch_alerts"] == [run.metrics["stopped_by"]]
    assert (tmp_path / "out" / "config.json").is_file()  # the model so far is saved


def test_grpo_with_the_judge_logs_judge_metrics_and_agent_calls(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, policy_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, "k")
    with StandinServer(StandinConfig(latency_s=0.01)) as server:
        judge = (f"  judge:\n    llm: {{backend: openai, base_url: '{server.base_url}', model: standin,"
                 f" api_key_env: {KEY_ENV}, timeout_s: 5, max_retries: 1, backoff_initial_s: 0.01,"
                 " backoff_max_s: 0.02}\n")
        cfg = write_config(tmp_path, policy_dir, "{judge: 1.0}", extra=judge)
        result = grpo(sqlite_url, cfg, "trl.max_steps=1")
        requests = server.stats()["total"]
    assert result.exit_code == 0, result.output
    with sqlite_store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == "grpo")).one()
        calls = s.scalar(select(func.count()).select_from(AgentCall).where(AgentCall.run_id == run.id))
        steps = [e for e in run.metrics["steps"] if "reward" in e]
        stats = run.metrics["judge_stats"]
    assert run.status == "finished" and len(steps) == 1
    assert {"rewards/judge/mean", "judge/failed", "judge/good", "judge/cached"} <= set(steps[0])
    assert steps[0]["judge/failed"] == 0
    assert requests >= 1 and calls == requests == stats["judged"]
    assert stats["items"] == 4
    samples = step_samples(sqlite_store, run.id, 1)  # the async judge also counts the tokens
    assert len(samples) == 4 and all(set(x["rewards"]) == {"judge"} for x in samples)
    assert all(x["tokens"] is not None and x["hit_cap"] is not None for x in samples)


def test_errors_come_before_training(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, policy_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, "k")
    cfg = write_config(tmp_path, policy_dir, "{length_control: 1.0}")
    unknown = grpo(sqlite_url, cfg, "kindling.rewards={foo: 1.0}")
    assert unknown.exit_code == 2
    assert "unknown reward 'foo'" in flat(unknown.output)

    judge = (f"  judge: {{principles: '999', llm: {{backend: openai, base_url: 'http://127.0.0.1:9/v1',"
             f" model: m, api_key_env: {KEY_ENV}}}}}\n")
    no_version = grpo(sqlite_url, write_config(tmp_path, policy_dir, "{judge: 1.0}", extra=judge,
                                               name="judge.yaml"))
    assert no_version.exit_code == 2
    assert "kindling.judge.principles" in flat(no_version.output)
    assert "999" in flat(no_version.output)

    too_long = grpo(sqlite_url, cfg, "kindling.max_prompt_length=2")
    out = flat(too_long.output)
    assert too_long.exit_code == 2
    assert "8 of 8 prompts are longer than kindling.max_prompt_length=2" in out

    no_rm = grpo(sqlite_url, cfg, "kindling.rewards={rm: 1.0}", f"kindling.rm_model={tmp_path / 'nope'}")
    assert no_rm.exit_code == 2 and "kindling.rm_model" in flat(no_rm.output)

    with sqlite_store.session() as s:
        assert s.scalar(select(func.count()).select_from(Run).where(Run.kind == "grpo")) == 0
    assert not (tmp_path / "out").exists()


def test_length_reference_policy_samples_the_starting_policy(
    tmp_path: Path, sqlite_store: Store, policy_dir: Path
) -> None:
    from kindling.rl.evaluate.policy import SamplingConfig, sample_policy
    from kindling.rl.grpo import prepare_grpo
    from kindling.rl.train_config import load_train_config
    from kindling.rl.training_model import load_model_and_tokenizer

    cfg = write_config(tmp_path, policy_dir, "{length_control: 1.0}",
                       extra="  length_reference: policy\n  length_reference_prompts: 5\n")
    kcfg, trl_cfg = load_train_config("grpo", cfg, {})
    setup = prepare_grpo(sqlite_store, kcfg, trl_cfg)
    model, tokenizer = load_model_and_tokenizer(str(policy_dir))
    prompts = [row["prompt"][0]["content"] for row in prompt_dataset(sqlite_store, "grpo_train", 5)]
    expected = sample_policy(model, tokenizer, prompts, SamplingConfig(
        max_new_tokens=16, temperature=trl_cfg.temperature, top_p=trl_cfg.top_p, seed=0))
    assert setup.context.reference_lengths == [len(s) for group in expected for s in group]
