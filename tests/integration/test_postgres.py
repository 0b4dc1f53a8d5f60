"""PostgreSQL as the store: a whole curate run, and two worker processes sharing one run."""

import os
import subprocess
import sys
from pathlib import Path

from kindling.store.db import Store
from kindling.store.models import AgentCall, RunItem, Verdict
from sqlalchemy import func, select

from kindling.services.curate import CurateRunner
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.standin import StandinConfig, StandinServer


async def test_curate_on_postgres(pg_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(pg_store, make_items(10))
    with StandinServer(StandinConfig(malformed=0.1, seed=5)) as server:
        outcome = await CurateRunner(pg_store, http_config(server.base_url),
                                     show_progress=False).run()
    assert outcome.counts == {"done": 10}
    with pg_store.session() as s:
        assert s.scalar(select(func.count()).select_from(Verdict)) == 10


def test_two_workers_share_a_run_without_judging_twice(pg_url: str, tmp_path: Path) -> None:
    store = Store(pg_url)
    seed_tiny_data(store, make_items(40))
    with StandinServer(StandinConfig(latency_s=0.05)) as server:
        cfg_path = tmp_path / "curate.yaml"
        cfg_path.write_text(http_config(server.base_url, concurrency=4).model_dump_json(),
                            encoding="utf-8")
        env = {**os.environ, "KINDLING_DB_URL": pg_url, "KINDLING_TEST_KEY": "k"}
        cmd = [sys.executable, "-m", "kindling", "curate", "--config", str(cfg_path), "--no-progress"]
        workers = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True) for _ in range(2)]
        outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    with store.session() as s:
        judged = s.execute(select(AgentCall.item_key, func.count()).where(
            AgentCall.role == "judge", AgentCall.parsed_output.is_not(None))
            .group_by(AgentCall.item_key)).all()
        verdicts = s.scalar(select(func.count()).select_from(Verdict))
        by_worker = s.execute(select(RunItem.worker, func.count()).group_by(RunItem.worker)).all()
        runs = s.scalar(select(func.count(func.distinct(RunItem.run_id))))
    assert runs == 1 and verdicts == 40
    assert len(judged) == 40 and all(n == 1 for _, n in judged)
    assert len(by_worker) == 2 and all(n > 0 for _, n in by_worker)  # both did part of the work
    store.close()


def test_a_run_id_beyond_postgres_integer_is_no_such_run(pg_store: Store) -> None:
    """runs.id is a 32-bit SERIAL on PostgreSQL: a larger id is no run, not a database error."""
    from kindling.store.reports import get_run
    from typer.testing import CliRunner

    from kindling.cli import app

    assert get_run(pg_store, 2**31) is None
    for args in (["runs", "show", str(2**31)], ["pairs", "export", "--run", str(2**40), "--out",
                                                "unused"]):
        result = CliRunner().invoke(app, ["--db-url", pg_store.url, *args])
        assert result.exit_code == 2, result.output
        assert "no run with id" in result.stderr and pg_store.url in result.stderr
