"""kill -9 a running `kindling curate` at arbitrary points; re-running finishes it exactly once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kindling.store.db import Store
from kindling.store.models import AgentCall, RunItem, Verdict
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.standin import StandinConfig, StandinServer

N_ITEMS = 24


def start_curate(url: str, cfg_path: Path) -> subprocess.Popen:
    env = {**os.environ, "KINDLING_DB_URL": url, "KINDLING_TEST_KEY": "k"}
    return subprocess.Popen(
        [sys.executable, "-m", "kindling", "curate", "--config", str(cfg_path), "--no-progress"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def calls_stored(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AgentCall)) or 0


def kill_after(proc: subprocess.Popen, store: Store, n_calls: int) -> None:
    deadline = time.monotonic() + 120
    while calls_stored(store) < n_calls:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "curate made too little progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_kill_nine_twice_then_resume(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store = Store(url)
    items = make_items(N_ITEMS)
    seed_tiny_data(store, items)
    with StandinServer(StandinConfig(latency_s=0.15, malformed=0.05, seed=3)) as server:
        cfg_path = tmp_path / "curate.yaml"
        cfg_path.write_text(http_config(server.base_url, concurrency=6).model_dump_json(),
                            encoding="utf-8")
        kill_after(start_curate(url, cfg_path), store, 25)
        kill_after(start_curate(url, cfg_path), store, 60)
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(Verdict)) < N_ITEMS  # really cut short
        # the final run in this process (only the kills need a child): the same command line
        final = CliRunner().invoke(app, ["curate", "--config", str(cfg_path), "--no-progress"],
                                   env={"KINDLING_DB_URL": url, "KINDLING_TEST_KEY": "k"})
        assert final.exit_code == 0, final.output
    with store.session() as s:
        per_item = s.execute(select(Verdict.item_key, func.count()).group_by(Verdict.item_key)).all()
        repeated = s.execute(
            select(AgentCall.item_key, AgentCall.role, func.count())
            .where(AgentCall.parsed_output.is_not(None))
            .group_by(AgentCall.item_key, AgentCall.role).having(func.count() > 1)).all()
        statuses = set(s.scalars(select(RunItem.status)))
        got = {r: v for r, v in s.execute(
            select(Verdict.response_id, Verdict.final_verdict)).all()}
    assert len(per_item) == N_ITEMS and all(n == 1 for _, n in per_item)
    assert repeated == []  # no stored result was asked for again
    assert statuses == {"done"}
    assert sorted(got.values()) == sorted(label for _q, _r, label in items)
