"""Reliability of runs themselves: the real console script, runs where nothing succeeds,
oversized model answers, and the studio's bind and token checks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from kindling.agents.llm.answer_bounds import MAX_ANSWER_CHARS
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.standin import StandinConfig, StandinServer

pytestmark = pytest.mark.reliability


def kindling(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KINDLING_DB_URL"}
    return subprocess.run([sys.executable, "-m", "kindling", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args", [
    ["--db-url", "foo://", "runs"],
    ["--db-url", "sqlite:///{tmp}/missing/k.db", "data", "stats"],
    ["curate", "--set", "llm.model=[x"],
    ["pairs", "export", "--run", "1", "--out", "{tmp}/precious"],
    ["train", "sft", "--config", "{tmp}/precious/thesis.txt"],
])
def test_the_console_script_prints_one_line_and_no_traceback(tmp_path: Path,
                                                            args: list[str]) -> None:
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.txt").write_text("- years of work\n")
    done = kindling(*(a.format(tmp=tmp_path) for a in args), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert (tmp_path / "precious" / "thesis.txt").read_text() == "- years of work\n"


IMPORTED_BY_THE_END = """import atexit, sys
atexit.register(lambda: print(" ".join(sorted(m for m in HEAVY if m in sys.modules))))
from kindling.cli import app
app(prog_name="kindling")
"""
TRAINING = ("torch", "transformers", "trl")
AGENTS = ("langchain_core", "openai", "torch")
WEB_APP = ("fastapi", "uvicorn", "langchain_core")


@pytest.mark.parametrize(("args", "heavy"), [
    (["train", "sft", "--config", "{tmp}/thesis.txt"], TRAINING),
    (["curate", "--set", "llm.model=[x"], AGENTS),
    (["--db-url", "sqlite:///{tmp}/typo.db", "studio"], WEB_APP),
    (["--db-url", "sqlite:///{tmp}/k.db", "studio", "--port", "{busy}"], WEB_APP),
], ids=["train-config", "curate-set", "studio-store", "studio-port"])
def test_a_refusal_comes_before_the_slow_imports(tmp_path: Path, args: list[str],
                                                 heavy: tuple[str, ...]) -> None:
    """Bad input is named before the libraries that take seconds to import are loaded: the
    cause of a slow refusal, checked without a clock."""
    (tmp_path / "thesis.txt").write_text("- years of work\n")
    Store(f"sqlite:///{tmp_path / 'k.db'}").close()
    env = {k: v for k, v in os.environ.items() if k != "KINDLING_DB_URL"}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        filled = [a.format(tmp=tmp_path, busy=busy.getsockname()[1]) for a in args]
        done = subprocess.run([sys.executable, "-c", IMPORTED_BY_THE_END.replace(
            "HEAVY", repr(heavy)), *filled], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error: "), done.stderr
    assert done.stdout.split() == [], f"imported before the refusal: {done.stdout}"


def test_a_curate_run_in_which_every_item_failed_exits_1(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    seed_tiny_data(store, make_items(3))
    with socket.socket() as closed:  # a port with nothing behind it
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    cfg = http_config(f"http://127.0.0.1:{port}/v1")
    cfg.llm.max_retries = 0
    (tmp_path / "c.yaml").write_text(cfg.model_dump_json(), encoding="utf-8")
    result = CliRunner().invoke(app, ["--db-url", store.url, "curate", "-c",
                                      str(tmp_path / "c.yaml"), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "every item of curate run" in result.stderr and "3 of 3" in result.stderr
    assert "ConnectionError: Connection error" in result.stderr  # says why


def test_a_judge_run_in_which_every_item_failed_exits_1(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    items = tmp_path / "items.jsonl"
    items.write_text('{"query": "生日", "response": "生日快乐"}\n', encoding="utf-8")
    with StandinServer(StandinConfig(http_500=1.0)) as server:
        result = CliRunner().invoke(app, [
            "--db-url", f"sqlite:///{tmp_path / 'k.db'}", "judge", "--file", str(items),
            "--backend", "openai", "--base-url", server.base_url, "--model", "standin",
            "--api-key-env", "KINDLING_TEST_KEY", "--set", "llm.max_retries=0",
            "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "every item of judge run" in result.stderr and "HTTP 500" in result.stderr


async def test_an_oversized_answer_is_bounded_everywhere(sqlite_store: Store, monkeypatch) -> None:
    """A 60,000-character advocate point (longer than any valid answer) is refused unparsed,
    re-asked with a cut excerpt, and never reaches the judge; the stored rows stay small."""
    from kindling.services.curate import CurateRunner

    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, make_items(1))
    huge = {"points": ["x" * 60_000]}  # (the stand-in's config travels on its command line)
    with StandinServer(StandinConfig(role_responses={"advocate": huge},
                                     record_bodies=True)) as server:
        outcome = await CurateRunner(sqlite_store, http_config(server.base_url),
                                     show_progress=False).run()
        bodies = [r["body"] for r in server.requests()]
    assert outcome.counts == {"failed": 1}  # the advocate never gave a usable answer
    sizes = [len(str(b["messages"])) for b in bodies]
    assert max(sizes) < 20_000, sizes  # re-asks carry an excerpt, not the megabyte
    assert not any(b["response_format"]["json_schema"]["name"] == "judge" for b in bodies)
    with sqlite_store.session() as s:
        stored = s.scalar(select(func.max(func.length(AgentCall.raw_output))))
        attempts = s.scalar(select(func.count()).where(AgentCall.role == "advocate"))
    assert stored <= MAX_ANSWER_CHARS and attempts == 3  # parse_attempts, each recorded


def test_the_studio_binds_before_it_prints_its_url(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    Store(db).close()  # the studio opens an existing store only
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        done = kindling("--db-url", db, "studio", "--port", port, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot listen there" in done.stderr and "kindling studio on" not in done.stdout


def test_no_run_row_holds_a_key_given_as_a_variable_name(tmp_path: Path) -> None:
    key = "sk-kindling-PLANTED-5e1d0c9b77aa"
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    seed_tiny_data(store, make_items(2))
    result = CliRunner().invoke(app, ["--db-url", store.url, "curate", "--backend", "openai",
                                      "--base-url", "http://127.0.0.1:9/v1", "--api-key-env",
                                      key])
    assert result.exit_code == 2 and key not in result.output
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Run).where(Run.kind == "curate")) == 0
    assert all(key.encode() not in p.read_bytes() for p in tmp_path.glob("k.db*"))


def test_the_studio_over_a_missing_store_makes_none(tmp_path: Path) -> None:
    done = kindling("--db-url", f"sqlite:///{tmp_path / 'typo.db'}", "studio", "--port", "1",
                    cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "typo.db" in done.stderr and "kindling studio on" not in done.stdout
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "kindling.db").exists()
