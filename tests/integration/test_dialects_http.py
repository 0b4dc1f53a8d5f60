"""Path A, Path B and the judge against stand-ins that behave like OpenAI, DeepSeek and
llama.cpp's server: `structured_output: auto` finds a mode each takes, records it, and a
structural refusal is attempted once, never retried."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.llm.config import LLMConfig
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services.curate import CurateRunner
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.standin import StandinConfig, StandinServer

EXPECTED_MODE = {"openai": "json_schema", "deepseek": "json_object_schema",
                 "llamacpp": "json_object_schema"}


def run_config(store: Store, run_id: int) -> dict:
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        return dict(run.config)


@pytest.mark.parametrize("dialect", ["openai", "deepseek", "llamacpp"])
async def test_curate_finds_the_mode_each_server_takes(sqlite_store: Store, monkeypatch,
                                                       dialect: str) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(6))
    with StandinServer(StandinConfig(dialect=dialect)) as server:
        cfg = http_config(server.base_url, concurrency=2)
        outcome = await CurateRunner(sqlite_store, cfg, show_progress=False).run()
        stats = server.stats()
    assert outcome.counts == {"done": 6}
    refused = stats["by_outcome"].get("refused_format", 0)
    if dialect == "openai":
        assert refused == 0
    else:  # only the calls already in flight (2 items × advocate, critic) were refused
        assert 1 <= refused <= 4
    assert "http_500" not in stats["by_outcome"]  # a refusal is never retried as a 5xx
    used = run_config(sqlite_store, outcome.run_id)["structured_output_used"]
    assert used == {"agents": EXPECTED_MODE[dialect], "generator": EXPECTED_MODE[dialect]}
    with sqlite_store.session() as s:
        refusals = s.scalars(select(AgentCall.error).where(AgentCall.error.like("%HTTP 4%")
                                                           | AgentCall.error.like("%HTTP 5%")))
        assert len(list(refusals)) == refused  # each refused request is one recorded attempt


@pytest.mark.parametrize("mode", ["json_object", "tools", "prompt"])
async def test_every_explicit_mode_reaches_verdicts(sqlite_store: Store, monkeypatch,
                                                     mode: str) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(4))
    with StandinServer(StandinConfig()) as server:
        cfg = http_config(server.base_url)
        cfg.llm.structured_output = mode  # type: ignore[assignment]
        outcome = await CurateRunner(sqlite_store, cfg, show_progress=False).run()
    assert outcome.counts == {"done": 4}
    assert run_config(sqlite_store, outcome.run_id)["structured_output_used"]["agents"] == mode


def test_a_fixed_mode_the_server_refuses_stops_the_run_at_once(tmp_path: Path,
                                                               monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    seed_tiny_data(store, make_items(5))
    with StandinServer(StandinConfig(dialect="deepseek")) as server:
        cfg = http_config(server.base_url, concurrency=1)
        cfg.llm.structured_output = "json_schema"
        (tmp_path / "c.yaml").write_text(cfg.model_dump_json(), encoding="utf-8")
        result = CliRunner().invoke(app, ["--db-url", store.url, "curate", "-c",
                                          str(tmp_path / "c.yaml"), "--no-progress"])
        requests = server.stats()["total"]
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "HTTP 400" in line and "response_format type is unavailable" in line
    assert "not retried" in line and "set structured_output to auto" in line
    assert requests <= 2  # advocate and critic of the first item, once each: no retry, no more items
    with store.session() as s:
        verdicts = s.execute(select(func.count()).select_from(AgentCall)).scalar()
    assert verdicts == requests  # every request is recorded: refused, or cancelled in flight


async def test_deepseek_blank_content_and_reasoning_are_handled(sqlite_store: Store,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(8))
    profile = StandinConfig(dialect="deepseek", blank=0.15, reasoning=True, seed=5)
    with StandinServer(profile) as server:
        cfg = http_config(server.base_url, concurrency=2)
        cfg.llm.parse_attempts = 5
        outcome = await CurateRunner(sqlite_store, cfg, show_progress=False).run()
    assert outcome.counts == {"done": 8}
    with sqlite_store.session() as s:
        blank = s.scalar(select(func.count()).where(AgentCall.error.like("%blank answer%")))
        thought = s.scalar(select(func.count()).where(AgentCall.reasoning.is_not(None)))
        answers = s.scalars(select(AgentCall.raw_output).where(AgentCall.reasoning.is_not(None)))
        assert all("先想一想" not in (a or "") for a in answers)  # thinking kept apart
    assert blank >= 1 and thought >= 8


async def test_a_budget_spent_on_thinking_is_said_plainly(sqlite_store: Store,
                                                          monkeypatch) -> None:
    from kindling.agents.judge.service import build_judge_service, resolve_judge

    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    with StandinServer(StandinConfig(dialect="deepseek", reasoning_only=1.0)) as server:
        llm = LLMConfig(backend="openai", base_url=server.base_url, model="deepseek-reasoner",
                        api_key_env="KINDLING_TEST_KEY", max_tokens=64, parse_attempts=2)
        run = sqlite_store_run(sqlite_store)
        service = build_judge_service(sqlite_store, resolve_judge(sqlite_store, JudgeConfig(llm=llm)), run)
        (result,) = await service.judge_many([("生日祝福", "祝你生日快乐！")])
        await service.aclose()
    assert result.verdict is None
    assert "max_tokens (64) was spent on thinking" in (result.error or "")


def sqlite_store_run(store: Store) -> int:
    from kindling.store import work

    run, _ = work.get_or_create_run(store, kind="judge", run_key=None, config={},
                                    code_version="test")
    return run.id


@pytest.mark.parametrize("dialect", ["openai", "deepseek", "llamacpp"])
def test_path_b_and_the_judge_on_each_server(paper_store: Store, monkeypatch,
                                             dialect: str) -> None:
    import asyncio

    from kindling.agents.judge.service import resolve_judge

    from kindling.services.adversarial import AdversarialRunner
    from kindling.services.judge import dataset_items, execute_judge
    from tests.integration.test_adversarial_http import config as adversarial_config

    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    script = StandinConfig(script="adversarial", dialect=dialect,
                           script_modules=["tests.standin.adversarial_scripts"])
    with StandinServer(script) as server:
        outcome = asyncio.run(AdversarialRunner(paper_store, adversarial_config(
            server.base_url, iterations=1)).run())
        llm = LLMConfig(backend="openai", base_url=server.base_url, model="standin",
                        api_key_env="KINDLING_TEST_KEY")
        items = dataset_items(paper_store, "evaluation_set", 0, 12)
        judged = execute_judge(paper_store, resolve_judge(paper_store, JudgeConfig(llm=llm)), items,
                               {"dataset": "evaluation_set"}, progress=False)
        judge_run, results = judged.run_id, judged.results
    assert outcome.stop and outcome.history[0]["n"] > 0
    assert run_config(paper_store, outcome.run_id)["structured_output_used"]["detector"] == \
        EXPECTED_MODE[dialect]
    assert all(r.verdict in (0, 1) for r in results)
    assert run_config(paper_store, judge_run)["structured_output_used"] == {
        "judge": EXPECTED_MODE[dialect]}
