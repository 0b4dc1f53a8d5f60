"""Kindling against a real OpenAI-compatible server: llama-cpp-python's, serving the SmolLM2
GGUF on 127.0.0.1, over real HTTP, with the roles configured as any user's endpoint
(`backend: openai`, `structured_output: auto`). The server answers `json_schema` with a 500
request-validation error; auto must step down to `json_object` + schema once, and every flow must
reach verdicts. SmolLM2 is weak: these prove compatibility, not judgment, so the curate flows take
Kindling's shorter prompts (`prompt_set: kindling`; the paper's prompts run on SmolLM2 in
test_curate_local.py, with the server Kindling starts itself for `backend: local`).

One server for the module, with its prompt cache on as Kindling starts it for `backend: local`;
each test has its own copy of one imported store. The cache keeps recent prompts, so the tests
whose prompts share the Detector's opening (endpoint check, judge, GRPO judge reward,
adversarial) evaluate it once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.endpoints import gguf_path
from kindling.agents.llm.llama_server import LlamaServer
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run, Verdict
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from tests.conftest import PaperDB

pytestmark = pytest.mark.slow
KEY_ENV = "KINDLING_REAL_KEY"
ADVERSARIAL_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "adversarial_local.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    gguf = gguf_path(LLMConfig(backend="local", model="smollm2"))
    assert gguf is not None
    log = tmp_path_factory.mktemp("llama") / "llama.log"
    with LlamaServer(gguf, alias="smollm2", log_path=log,
                     prompt_cache_mib=LLMConfig().prompt_cache_mib) as running:
        yield running


@pytest.fixture
def store(tmp_path: Path, paper_db: PaperDB, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A store of this test's own holding the paper data (a copy of the session's import)."""
    monkeypatch.setenv(KEY_ENV, "none")
    paper_db.copy_to(tmp_path / "k.db")
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    yield store
    store.close()


def endpoint(server: LlamaServer, prefix: str, max_tokens: int = 128) -> list[str]:
    return [f"--set={prefix}.{k}={v}" for k, v in {
        "backend": "openai", "base_url": server.base_url, "model": "smollm2",
        "api_key_env": KEY_ENV, "temperature": 0.0, "max_tokens": max_tokens,
        "max_concurrency": 1, "timeout_s": 120}.items()]


def cli(store: Store, *args: str, input_: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", store.url, *args], input=input_)
    return result.exit_code, result.output


def config_of(store: Store, kind: str) -> dict:
    with store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == kind).order_by(Run.id.desc())).first()
        assert run is not None
        return dict(run.config)


def test_curate_reaches_verdicts_after_one_step_down(server: LlamaServer, store: Store) -> None:
    code, out = cli(store, "curate", "--prompt-set", "kindling", "--limit", "1", "--concurrency",
                    "1", "--no-progress", *endpoint(server, "llm"))
    assert code == 0, out
    with store.session() as s:
        verdicts = s.scalars(select(Verdict.final_verdict)).all()
        refused = s.scalar(select(func.count()).where(AgentCall.error.like("%HTTP 500%")))
    assert len(verdicts) == 1 and all(v in (0, 1) for v in verdicts)
    assert refused == 1  # json_schema refused once (a validation 500), never retried
    config = config_of(store, "curate")
    assert config["structured_output_used"]["agents"] == "json_object_schema"
    assert config["prompt_set"] == "kindling"


def test_graph_step_over_the_real_server(server: LlamaServer, store: Store) -> None:
    code, out = cli(store, "graph", "step", "curate", "--set", "limit=1", "--set",
                    "prompt_set=kindling", *endpoint(server, "llm"), "--break-before", "judge",
                    input_="c\nq\n")
    assert code == 0, out  # the debate ran over the server; quitting at the breakpoint saves 2 calls
    assert "breakpoint before judge" in out and "stopped before judge" in out


def test_endpoint_check_finds_what_the_real_server_takes(server: LlamaServer,
                                                         store: Store) -> None:
    code, out = cli(store, "endpoint", "check", "--base-url", server.base_url, "--model",
                    "smollm2", "--api-key-env", KEY_ENV, "--samples", "1", "--max-in-flight", "1",
                    "--max-tokens", "48")
    assert code == 0, out
    with store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == "endpoint")).one()
    works = {m["mode"]: m["ok"] for m in run.metrics["modes"]}
    assert works["json_schema"] is False and works["json_object_schema"] is True
    assert "structured_output: json_object_schema" in out


def test_judge_reaches_verdicts(server: LlamaServer, store: Store) -> None:
    code, out = cli(store, "judge", "--dataset", "evaluation_set", "--limit", "1",
                    "--no-progress", *endpoint(server, "llm"))
    assert code == 0, out  # exit 1 if the item failed
    assert config_of(store, "judge")["structured_output_used"] == {"judge": "json_object_schema"}


def test_grpo_judge_reward_over_the_real_server(server: LlamaServer, store: Store) -> None:
    from kindling.agents.judge.service import build_judge_service, resolve_judge
    from kindling.rl.rewards.judge import JudgeReward
    from kindling.store.work import get_or_create_run

    llm = LLMConfig(backend="openai", base_url=server.base_url, model="smollm2",
                    api_key_env=KEY_ENV, temperature=0.0, max_tokens=160, max_concurrency=1,
                    timeout_s=120)
    run, _ = get_or_create_run(store, kind="grpo", run_key=None, config={}, code_version="test")
    reward = JudgeReward(build_judge_service(store, resolve_judge(store, JudgeConfig(llm=llm)), run.id))
    prompts = [[{"role": "user", "content": "写一句生日祝福"}]] * 2
    completions = [[{"role": "assistant", "content": "祝你生日快乐，愿你新的一岁平安喜乐！"}],
                   [{"role": "assistant", "content": "生日快乐"}]]

    async def score() -> list[float | None]:
        try:
            return await reward(prompts, completions)
        finally:
            await reward.aclose()

    scores = asyncio.run(score())
    assert len(scores) == 2 and all(s in (0.0, 1.0) for s in scores), scores


def test_one_adversarial_iteration(server: LlamaServer, store: Store) -> None:
    """Path B's offline config (configs/adversarial_local.yaml) with its model at this server:
    `backend: local` differs only in Kindling starting the server itself, which
    test_curate_local.py covers."""
    code, out = cli(store, "adversarial", "--config", str(ADVERSARIAL_CONFIG), "--iterations",
                    "1", "--set", "batch_size=1", "--set", "labelled_batch_size=1", "--set",
                    "validation_size=2", *endpoint(server, "llm", max_tokens=96))
    assert code == 0, out
    assert "reached 1 iterations" in out
    with store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == "adversarial")).one()
        roles = set(s.scalars(select(AgentCall.role).where(AgentCall.run_id == run.id)))
    assert run.status == "finished" and run.metrics["stop"]
    history = run.metrics["history"]
    assert [h["iteration"] for h in history] == [0, 1]  # the start S_D, then iteration 1
    assert history[0]["n"] > 0  # some validation judgments were parsed
    assert {"accuracy", "f1", "length_baseline"} <= set(history[0])
    assert {"generate_flawed", "detect"} <= roles
    assert run.config["structured_output_used"]["detector"] == "json_object_schema"


def test_free_text_samples_stop_at_the_token_cap(server: LlamaServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The server ignores `max_completion_tokens` (langchain-openai's default); sent as
    `max_tokens`, an endpoint policy's samples stop at the cap instead of the context's end."""
    from kindling.agents.llm.endpoints import build_chat_model
    from kindling.agents.llm.free_text import sample_endpoint

    monkeypatch.setenv(KEY_ENV, "none")
    cfg = LLMConfig(backend="openai", base_url=server.base_url, model="smollm2",
                    api_key_env=KEY_ENV, timeout_s=60, max_concurrency=1)
    chat = build_chat_model(cfg)
    samples = asyncio.run(sample_endpoint(chat, cfg, ["Write a long story about the sea."], 2,
                                          temperature=0.9, max_tokens=8))
    assert samples.failed == 0, samples.errors
    for text in samples.texts[0]:
        assert text and len(text.split()) <= 12  # 8 tokens: a few words, not a story
