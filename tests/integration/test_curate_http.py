"""Path A over real HTTP (langchain-openai) against the stand-in server, with injected faults."""

from pathlib import Path

from kindling.store.db import Store
from kindling.store.models import AgentCall, RunItem, Verdict
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services.curate import CurateRunner
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.standin import StandinConfig, StandinServer

PLANTED_KEY = "sk-kindling-planted-7f3a9c1e"


async def test_twenty_percent_faults_every_item_ends_judged_or_recorded(
    sqlite_store: Store, monkeypatch
) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(40))
    faults = StandinConfig(latency_s=0.01, http_429=0.05, http_500=0.05, timeout=0.05,
                           timeout_sleep_s=3.0, malformed=0.05, seed=7)
    with StandinServer(faults) as server:
        cfg = http_config(server.base_url, concurrency=16)
        outcome = await CurateRunner(sqlite_store, cfg, show_progress=False).run()
        stats = server.stats()
    assert sum(outcome.counts.values()) == 40
    assert set(outcome.counts) <= {"done", "failed"} and outcome.counts.get("done", 0) >= 36
    faults_seen = stats["by_outcome"]
    assert all(faults_seen.get(k, 0) > 0 for k in ("http_429", "http_500", "timeout", "malformed"))
    with sqlite_store.session() as s:
        verdicts = s.scalar(select(func.count()).select_from(Verdict))
        failed_attempts = s.scalar(select(func.count()).where(AgentCall.error.is_not(None)))
        open_items = s.scalar(select(func.count()).where(RunItem.status.in_(["pending", "claimed"])))
    assert verdicts == 40 and open_items == 0
    assert failed_attempts >= sum(faults_seen.get(k, 0) for k in ("http_429", "http_500"))


async def test_bounded_retries_give_a_recorded_failure(sqlite_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(2))
    with StandinServer(StandinConfig(http_500=1.0, fault_roles=["judge"])) as server:
        cfg = http_config(server.base_url)
        outcome = await CurateRunner(sqlite_store, cfg, show_progress=False).run()
    assert outcome.counts == {"failed": 2}
    with sqlite_store.session() as s:
        judge_attempts = s.scalars(select(AgentCall.attempt).where(AgentCall.role == "judge")).all()
        errors = s.scalars(select(Verdict.error)).all()
    assert sorted(judge_attempts) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # 1 + max_retries each
    assert all("judge: HTTP 500" in e for e in errors)


def test_api_key_never_lands_in_store_checkpoints_logs_or_exports(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", PLANTED_KEY)
    db = tmp_path / "k.db"
    url = f"sqlite:///{db}"
    store = Store(url)
    seed_tiny_data(store, make_items(6))
    with StandinServer(StandinConfig(api_key=PLANTED_KEY)) as server:  # the key really is used
        cfg_path = tmp_path / "cfg.yaml"
        cfg_path.write_text(http_config(server.base_url).model_dump_json(), encoding="utf-8")
        cli = CliRunner()
        ran = cli.invoke(app, ["--db-url", url, "curate", "--config", str(cfg_path), "--no-progress"])
        assert ran.exit_code == 0, ran.output
        built = cli.invoke(app, ["--db-url", url, "pairs", "build", "--run", "2"])
        exported = cli.invoke(app, ["--db-url", url, "pairs", "export", "--run", "3",
                                    "--out", str(tmp_path / "export")])
        shown = cli.invoke(app, ["--db-url", url, "runs", "show", "2"])
    with store.session() as s:
        assert s.scalar(select(func.count()).where(Verdict.status == "ok")) == 6
    logs = ran.output + built.output + exported.output + shown.output
    assert PLANTED_KEY not in logs and "KINDLING_TEST_KEY" in shown.output
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".langgraph.sqlite") for p in files)
    for path in files:
        assert PLANTED_KEY.encode() not in path.read_bytes(), path


def test_wrong_key_is_a_recorded_failure_not_a_retry_loop(sqlite_url: str, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "wrong")
    store = Store(sqlite_url)
    seed_tiny_data(store, make_items(1))
    with StandinServer(StandinConfig(api_key="right")) as server:
        outcome = CliRunner().invoke(app, ["--db-url", sqlite_url, "curate", "--no-progress",
                                           "--backend", "openai", "--base-url", server.base_url,
                                           "--model", "standin", "--api-key-env", "KINDLING_TEST_KEY"])
        assert server.stats()["total"] == 2  # advocate and critic once each: 401 is not retried
    assert outcome.exit_code == 1 and "items failed" in outcome.output  # nothing succeeded
    assert "every item of curate run" in outcome.stderr and "HTTP 401" in outcome.stderr


def test_missing_key_variable_is_a_clear_error(sqlite_url: str, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    store = Store(sqlite_url)
    seed_tiny_data(store, make_items(1))
    result = CliRunner().invoke(app, ["--db-url", sqlite_url, "curate", "--backend", "openai",
                                      "--base-url", "http://127.0.0.1:9/v1",
                                      "--api-key-env", "NO_SUCH_KEY_VAR"])
    assert result.exit_code == 2 and "NO_SUCH_KEY_VAR" in result.output


def test_runs_in_separate_event_loops_share_nothing_stale(sqlite_store: Store, monkeypatch) -> None:
    """langchain-openai caches one HTTP client per base URL; each run must bring its own."""
    import asyncio

    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(3))
    with StandinServer(StandinConfig()) as server:
        for _ in range(2):
            runner = CurateRunner(sqlite_store, http_config(server.base_url), new_run=True,
                                  show_progress=False)
            assert asyncio.run(runner.run()).counts == {"done": 3}
