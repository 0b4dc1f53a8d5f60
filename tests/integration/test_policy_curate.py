"""Rejection sampling from the policy itself, end to end: `kindling curate --policy run:ID` samples
candidates from a tiny SFT-run model in batches (transformers, in this process), the agents judge
them at an endpoint over real HTTP (the stand-in says good iff ≥ 40 characters), and `kindling
pairs build` turns the verdicts into preference pairs of the policy's own texts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kindling.agents.curate.config import PolicyConfig
from kindling.store import work
from kindling.store.db import Store
from kindling.store.models import AgentCall, PreferencePair, Response, Run, Verdict
from sqlalchemy import select
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services.curate import CurateRunner
from tests.integration.helpers import http_config, imported_store, random_length_policy
from tests.standin import JUDGE_MIN_CHARS, StandinConfig, StandinServer

KEY_ENV = "KINDLING_TEST_KEY"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store, Path, int]]:
    """The paper data, a tiny policy (stops at random lengths) and an sft run whose output it is."""
    folder = tmp_path_factory.mktemp("policy_curate")
    url, store, _import_run = imported_store(folder)
    random_length_policy(store, folder / "tiny")
    sft_run, _ = work.get_or_create_run(store, kind="sft", run_key=None, config={},
                                        code_version="test")
    work.finish_run(store, sft_run.id, "finished", {"output_dir": str(folder / "tiny")})
    yield url, store, folder, sft_run.id
    store.close()


def cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", url, *args])
    return result.exit_code, " ".join(result.output.split())


def test_policy_run_samples_are_judged_at_an_endpoint_and_become_pairs(
        db: tuple[str, Store, Path, int], monkeypatch: pytest.MonkeyPatch) -> None:
    url, store, folder, sft_run = db
    monkeypatch.setenv(KEY_ENV, "k")
    with StandinServer(StandinConfig(latency_s=0.0)) as server:
        code, out = cli(url, "curate", "--policy", f"run:{sft_run}", "--dataset", "random_query",
                        "--limit", "6", "--samples", "4", "--backend", "openai", "--base-url",
                        server.base_url, "--model", "standin", "--api-key-env", KEY_ENV,
                        "--set", "policy.batch_queries=4", "--set", "policy.max_new_tokens=60",
                        "--set", "policy.temperature=1.0", "--no-progress")
    assert code == 0, out
    run_id = int(out.split("curate run ")[1].split()[0])
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.status == "finished"
        assert run.config["source"] == "generate" and run.config["policy"]["model"] == f"run:{sft_run}"
        assert run.config["policy_path"] == str(folder / "tiny")
        gen = {c.item_key: c for c in s.scalars(select(AgentCall).where(
            AgentCall.run_id == run_id, AgentCall.role == "generate"))}
        verdicts = s.execute(select(Verdict, Response.text).join(
            Response, Response.id == Verdict.response_id).where(Verdict.run_id == run_id)).all()
    assert len(gen) == 24 and all(c.template == "policy:transformers" for c in gen.values())
    assert all(c.model == str(folder / "tiny") and c.error is None for c in gen.values())
    assert len(verdicts) == 24 and all(v.status == "ok" for v, _ in verdicts)
    for verdict, text in verdicts:  # the judged text is the policy's sample, judged by length
        assert text == gen[verdict.item_key].raw_output
        assert verdict.final_verdict == int(len(text) >= JUDGE_MIN_CHARS)
    assert {v.final_verdict for v, _ in verdicts} == {0, 1}

    code, out = cli(url, "pairs", "build", "--run", str(run_id))
    assert code == 0, out
    with store.session() as s:
        pairs = s.scalars(select(PreferencePair).where(PreferencePair.run_id > run_id)).all()
        texts = {r.id: r.text for r in s.scalars(select(Response))}
    assert pairs, out
    samples = {c.raw_output for c in gen.values()}
    for pair in pairs:  # chosen and rejected are two of the policy's own samples
        chosen, rejected = texts[pair.chosen_id], texts[pair.rejected_id]
        assert {chosen, rejected} <= samples
        assert len(chosen) >= JUDGE_MIN_CHARS > len(rejected)


async def test_samples_of_many_queries_go_through_few_generate_calls(
        db: tuple[str, Store, Path, int], monkeypatch: pytest.MonkeyPatch) -> None:
    _url, store, folder, _sft_run = db
    monkeypatch.setenv(KEY_ENV, "k")
    policy = PolicyConfig(model=str(folder / "tiny"), batch_queries=4, max_new_tokens=24)
    with StandinServer(StandinConfig(latency_s=0.0)) as server:
        cfg = http_config(server.base_url, source="generate", dataset="random_query", limit=8,
                          offset=20, samples_per_query=3, policy=policy)
        runner = CurateRunner(store, cfg, show_progress=False)
        outcome = await runner.run()
    assert outcome.counts == {"done": 24}
    assert runner.sampler is not None and runner.sampler.generate_calls <= 3  # 8 queries × 3


@pytest.mark.parametrize(("args", "message"), [
    (["--policy", "run:99999"],
     "field policy.model: run:99999: expected an sft or grpo run; no run with id 99999 in the store"),
    (["--policy", "/nowhere/policy"], "field policy.model:"),
    (["--source", "dataset", "--set", "policy.model=x"], "set source: generate"),
    (["--policy", "x", "--set", "generator.model=y"], "both generator and policy are set"),
    (["--policy", "x", "--set", "policy.backend=vllm"], "field policy.backend: vllm is not installed"),
])
def test_bad_policy_settings_are_clear_errors_and_create_no_run(
        db: tuple[str, Store, Path, int], args: list[str], message: str) -> None:
    url, store, folder, _ = db
    args = [str(folder / "tiny") if a == "x" else a for a in args]
    with store.session() as s:
        before = len(s.scalars(select(Run.id)).all())
    code, out = cli(url, "curate", "--dataset", "random_query", "--limit", "2", *args)
    assert code == 2 and message in out, out
    with store.session() as s:
        assert len(s.scalars(select(Run.id)).all()) == before
