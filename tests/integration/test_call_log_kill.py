"""kill -9 at a fixed point: every request the server answered is a stored agent call.

The stand-in answers N requests and then lets every further request hang, so the run stands
still with exactly N answers in hand. A call log that keeps answers in memory (the adversarial
runner once buffered 64 rows) shows fewer than N rows there, and loses them to the kill; a log
that stores each answer before it is used shows exactly N. After the kill the server answers
again and the rerun finishes: rows = answers over both processes, and no stored result is asked
for twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kindling.store.db import Store
from kindling.store.models import AgentCall
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.integration.test_adversarial_http import config as adversarial_config
from tests.standin import StandinConfig, StandinServer

ANSWERED_BEFORE_KILL = 37
RERUN_ENV = ("KINDLING_DB_URL", "KINDLING_TEST_KEY")


def stored_calls(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AgentCall)) or 0


def repeated_results(store: Store) -> list:
    with store.session() as s:
        return list(s.execute(
            select(AgentCall.item_key, AgentCall.role, func.count())
            .where(AgentCall.parsed_output.is_not(None))
            .group_by(AgentCall.item_key, AgentCall.role).having(func.count() > 1)).all())


def wait_for(what: str, check, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def kill_at_stall(server: StandinServer, store: Store, cmd: list[str], env: dict) -> int:
    """Run `cmd` until the server has answered ANSWERED_BEFORE_KILL requests, give the run a
    moment to store them, kill -9 it; the rows stored at that point."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    wait_for("the server's answers", lambda: server.stats()["delivered"] == ANSWERED_BEFORE_KILL,
             proc, 120)
    try:
        wait_for("the answers to be stored",
                 lambda: stored_calls(store) >= ANSWERED_BEFORE_KILL, proc, 10)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return stored_calls(store)


def kill_then_finish(server: StandinServer, store: Store, cmd: list[str], env: dict) -> None:
    """Kill at the stall (rows = answers then), rerun to the end (rows = answers over both
    processes, no stored result asked for again). The rerun is the same command line in this
    process: only the kill needs a child."""
    assert kill_at_stall(server, store, cmd, env) == ANSWERED_BEFORE_KILL
    server.reconfigure(stall_after=None)  # counters restart at 0
    done = CliRunner().invoke(app, cmd[3:], env={k: env[k] for k in RERUN_ENV})
    assert done.exit_code == 0, done.output
    assert stored_calls(store) == ANSWERED_BEFORE_KILL + server.stats()["delivered"]
    assert repeated_results(store) == []


@pytest.fixture
def env(paper_store: Store) -> dict[str, str]:
    return {**os.environ, "KINDLING_DB_URL": paper_store.url, "KINDLING_TEST_KEY": "k"}


def test_adversarial_stores_every_answer_before_using_it(
        paper_store: Store, env: dict[str, str], tmp_path: Path) -> None:
    script = StandinConfig(script="adversarial", latency_s=0.01,
                           script_modules=["tests.standin.adversarial_scripts"],
                           stall_after=ANSWERED_BEFORE_KILL)
    with StandinServer(script) as server:
        cfg_path = tmp_path / "adv.yaml"
        cfg_path.write_text(adversarial_config(server.base_url, iterations=2, patience=5)
                            .model_dump_json(), encoding="utf-8")
        cmd = [sys.executable, "-m", "kindling", "adversarial", "--config", str(cfg_path)]
        kill_then_finish(server, paper_store, cmd, env)


def test_curate_stores_every_answer_before_using_it(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    seed_tiny_data(store, make_items(20))
    env = {**os.environ, "KINDLING_DB_URL": store.url, "KINDLING_TEST_KEY": "k"}
    with StandinServer(StandinConfig(latency_s=0.01, stall_after=ANSWERED_BEFORE_KILL)) as server:
        cfg_path = tmp_path / "curate.yaml"
        cfg_path.write_text(http_config(server.base_url, concurrency=4).model_dump_json(),
                            encoding="utf-8")
        cmd = [sys.executable, "-m", "kindling", "curate", "--config", str(cfg_path),
               "--no-progress"]
        kill_then_finish(server, store, cmd, env)
