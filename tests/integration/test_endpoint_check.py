"""`kindling endpoint check` against stand-ins of the servers users run: the modes each takes,
the point where 429s start, a config snippet, and a stored `endpoint` run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from tests.standin import StandinConfig, StandinServer


def check(url: str, base_url: str, *extra: str):
    return CliRunner().invoke(app, ["--db-url", url, "endpoint", "check", "--base-url", base_url,
                                    "--model", "standin", "--api-key-env", "KINDLING_TEST_KEY",
                                    *extra])


@pytest.mark.parametrize(("dialect", "works"), [
    ("openai", {"json_schema", "json_object_schema", "json_object", "tools", "prompt"}),
    ("deepseek", {"json_object_schema", "json_object", "tools", "prompt"}),
    ("llamacpp", {"json_object_schema", "json_object", "tools", "prompt"}),
])
def test_modes_rate_limit_and_snippet(tmp_path: Path, monkeypatch, dialect: str,
                                      works: set[str]) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    url = f"sqlite:///{tmp_path / 'k.db'}"
    profile = StandinConfig(dialect=dialect, latency_s=0.05, limit_in_flight=3)
    with StandinServer(profile) as server:
        result = check(url, server.base_url, "--max-in-flight", "16")
        requests = server.stats()["total"]
    assert result.exit_code == 0, result.output
    store = Store(url)
    with store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == "endpoint")).one()
        attempts = s.scalar(select(func.count()).select_from(AgentCall))
    metrics = run.metrics
    assert {m["mode"] for m in metrics["modes"] if m["ok"]} == works
    assert metrics["first_429_at"] == 4 and metrics["safe_concurrency"] == 2
    assert attempts == requests  # every probe is a stored agent call
    snippet = yaml.safe_load(result.output.split("for one role):", 1)[1])
    assert snippet["llm"]["structured_output"] == metrics["best_mode"]
    assert snippet["llm"]["max_concurrency"] == 2
    assert requests <= 5 + 3 + 1 + 2 + 4  # modes, latencies, the ramp up to the first 429


def test_nothing_listening_exits_1_and_says_why(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    result = check(f"sqlite:///{tmp_path / 'k.db'}", "http://127.0.0.1:9/v1")
    assert result.exit_code == 1
    assert "answered no structured-output mode" in result.stderr
    assert "Connection error" in result.output
