"""Hostile endpoints (tests/hostile): real `kindling curate` / `judge` commands against a server
that echoes the key, trickles bytes, loops redirects, redirects to another origin, asks to wait an
hour, answers 50 MB or nothing. The planted key must appear nowhere, every attempt must end within
its deadline, every stop must be named and leave no run `running`, every kept field stays bounded.

Every test that looks for the key runs the real console script in its own process (a new process's
key registry, every byte it writes to its real streams); the tests of deadlines, bounds and stops
that look for no key run the same command line in this process (`here=True`: typer's CliRunner),
the key registry emptied first."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kindling.agents.curate.config import CurateConfig
from kindling.agents.llm.answer_bounds import MAX_ANSWER_CHARS
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.http_client import MAX_REDIRECTS
from kindling.agents.llm.redaction import forget_keys, marker
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from sqlalchemy import select

from tests.fakes import seed_tiny_data
from tests.hostile import HostileServer
from tests.integration.helpers import make_items
from tests.reliability.world import invoke

pytestmark = pytest.mark.reliability

KEY = "sk-hostile-PLANTED-5c0ffee0d15ea5e9"
KEY_ENV = "HOSTILE_TEST_KEY"
MARKER = marker(KEY_ENV)
ATTEMPTS = 3  # max_retries 2 + 1


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def kindling(root: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The real console script in `root`, the key in its environment."""
    env = {k: v for k, v in os.environ.items() if k != "KINDLING_DB_URL"}
    env[KEY_ENV] = KEY
    env["COLUMNS"] = "1000"  # wide tables: a key folded across lines would slip past a search
    return subprocess.run([sys.executable, "-m", "kindling", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def kindling_here(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`kindling ARGS` as `kindling()` runs it, but in this process (typer's CliRunner): in `root`,
    the same environment, no key registered yet (a new process has none). An exception the CLI
    does not turn into an exit status fails the test (a real process would print a traceback)."""
    forget_keys()
    with contextlib.chdir(root):
        result = invoke(args, env={"KINDLING_DB_URL": None, KEY_ENV: KEY, "COLUMNS": "1000"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["kindling", *args], result.exit_code, result.stdout,
                                       result.stderr)


def curate(root: Path, base_url: str, items: int = 1, *, here: bool = False, **llm: object
           ) -> subprocess.CompletedProcess[str]:
    """`kindling curate` of `items` evaluation items against `base_url`, one item at a time
    (`here`: in this process)."""
    fresh = not (root / "k.db").exists()
    store = Store(f"sqlite:///{root / 'k.db'}")
    if fresh:
        seed_tiny_data(store, make_items(items))
    settings = {"timeout_s": 1.0, "max_retries": ATTEMPTS - 1, "backoff_initial_s": 0.01,
                "backoff_max_s": 0.05, **llm}
    cfg = CurateConfig(llm=LLMConfig(backend="openai", base_url=base_url, model="hostile",
                                     api_key_env=KEY_ENV, **settings), concurrency=1)
    (root / "c.yaml").write_text(cfg.model_dump_json(), encoding="utf-8")
    store.close()
    return (kindling_here if here else kindling)(
        root, "--db-url", store.url, "curate", "-c", str(root / "c.yaml"), "--no-progress")


def assert_key_nowhere(root: Path, *runs: subprocess.CompletedProcess[str]) -> None:
    """Not in any output, any file under `root` (stores, checkpoints, WAL files, exports), nor
    any row of any table of any SQLite database there (LangGraph's checkpoint tables included)."""
    for done in runs:
        assert KEY not in done.stdout and KEY not in done.stderr
    for path in (p for p in root.rglob("*") if p.is_file()):
        assert KEY.encode() not in path.read_bytes(), path
        if path.suffix in (".db", ".sqlite"):
            for table, rows in every_row(path):
                assert KEY not in repr(rows), (path, table)


def every_row(path: Path) -> Iterator[tuple[str, list[tuple]]]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
            yield table, [tuple(bytes(v).decode(errors="replace") if isinstance(v, bytes) else v
                                for v in row) for row in rows]


def curate_runs(root: Path) -> list[Run]:
    with Store(f"sqlite:///{root / 'k.db'}").session() as s:
        return list(s.scalars(select(Run).where(Run.kind == "curate")).all())


def calls(root: Path) -> list[AgentCall]:
    with Store(f"sqlite:///{root / 'k.db'}").session() as s:
        return list(s.scalars(select(AgentCall).order_by(AgentCall.id)).all())


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_a_key_echoed_in_a_400_is_redacted_and_the_run_stopped(tmp_path: Path,
                                                               hostile: HostileServer) -> None:
    done = curate(tmp_path, hostile.base_url("echo400"))
    assert done.returncode == 2, done.stderr
    line = one_error_line(done)
    assert "refused the request" in line and MARKER in line
    (run,) = curate_runs(tmp_path)
    assert run.status == "stopped" and MARKER in run.metrics["stopped"]
    assert run.metrics["items"] == {"pending": 1}  # given back: a rerun picks it up
    assert any(MARKER in (c.error or "") for c in calls(tmp_path))
    assert (tmp_path / "k.langgraph.sqlite").exists()
    assert_key_nowhere(tmp_path, done)


def test_a_judge_run_stopped_by_an_echoing_400_keeps_the_redacted_reason(
        tmp_path: Path, hostile: HostileServer) -> None:
    (tmp_path / "items.jsonl").write_text('{"query": "生日", "response": "生日快乐"}\n',
                                          encoding="utf-8")
    done = kindling(tmp_path, "--db-url", f"sqlite:///{tmp_path / 'k.db'}", "judge", "--file",
                    str(tmp_path / "items.jsonl"), "--backend", "openai", "--base-url",
                    hostile.base_url("echo400"), "--model", "hostile", "--api-key-env", KEY_ENV,
                    "--set", "llm.structured_output=json_object", "--no-progress")
    assert done.returncode == 2 and MARKER in one_error_line(done)
    with Store(f"sqlite:///{tmp_path / 'k.db'}").session() as s:
        (run,) = s.scalars(select(Run).where(Run.kind == "judge")).all()
    assert run.status == "failed" and MARKER in run.metrics["stopped"]
    assert_key_nowhere(tmp_path, done)


def test_the_endpoint_check_redacts_what_the_endpoint_echoes(tmp_path: Path,
                                                            hostile: HostileServer) -> None:
    done = kindling(tmp_path, "--db-url", f"sqlite:///{tmp_path / 'k.db'}", "endpoint", "check",
                    "--base-url", hostile.base_url("echo401"), "--model", "hostile",
                    "--api-key-env", KEY_ENV, "--samples", "1", "--max-in-flight", "1")
    assert done.returncode == 1, done.stderr
    assert MARKER in done.stdout  # each mode's error, as the server worded it
    assert_key_nowhere(tmp_path, done)


def test_a_key_echoed_in_a_401_is_redacted(tmp_path: Path, hostile: HostileServer) -> None:
    done = curate(tmp_path, hostile.base_url("echo401"))
    assert done.returncode == 1, done.stderr
    assert "HTTP 401" in one_error_line(done) and MARKER in done.stderr
    assert [r.status for r in curate_runs(tmp_path)] == ["finished"]
    assert_key_nowhere(tmp_path, done)


def test_a_key_echoed_in_answers_and_reasoning_is_redacted_everywhere(
        tmp_path: Path, hostile: HostileServer) -> None:
    done = curate(tmp_path, hostile.base_url("echo_answer"), items=2)
    assert done.returncode == 0, done.stderr
    stored = calls(tmp_path)
    assert stored and all(MARKER in c.raw_output and MARKER in c.reasoning for c in stored)
    assert all(MARKER in json.dumps(c.parsed_output, ensure_ascii=False) for c in stored)
    (tmp_path / "items.jsonl").write_text('{"query": "生日", "response": "生日快乐"}\n',
                                          encoding="utf-8")
    (tmp_path / "export").mkdir()
    judged = kindling(tmp_path, "--db-url", f"sqlite:///{tmp_path / 'k.db'}", "judge", "--file",
                      str(tmp_path / "items.jsonl"), "--backend", "openai", "--base-url",
                      hostile.base_url("echo_answer"), "--model", "hostile", "--api-key-env",
                      KEY_ENV, "--out", str(tmp_path / "export" / "judged.jsonl"),
                      "--no-progress")
    assert judged.returncode == 0, judged.stderr
    assert MARKER in (tmp_path / "export" / "judged.jsonl").read_text(encoding="utf-8")
    shown = kindling(tmp_path, "--db-url", f"sqlite:///{tmp_path / 'k.db'}", "runs", "show",
                     str(curate_runs(tmp_path)[0].id), "--full")
    assert shown.returncode == 0, shown.stderr
    assert_key_nowhere(tmp_path, done, judged, shown)


def test_a_trickle_ends_at_each_attempts_deadline(tmp_path: Path, hostile: HostileServer) -> None:
    """Headers, then a byte every 0.2 s, forever: each attempt ends at timeout_s (1 s) and is
    retried within bounds; the item fails, recorded, and the run ends."""
    before = len(hostile.requests("trickle"))
    done = curate(tmp_path, hostile.base_url("trickle"))
    assert done.returncode == 1, done.stderr
    attempts = calls(tmp_path)
    assert len(attempts) == 2 * ATTEMPTS  # advocate and critic, each 1 + max_retries
    assert all("DeadlineExceeded" in c.error and "timeout_s (1 s)" in c.error for c in attempts)
    assert len(hostile.requests("trickle")) - before == 2 * ATTEMPTS
    assert [r.status for r in curate_runs(tmp_path)] == ["finished"]
    assert_key_nowhere(tmp_path, done)


def test_a_redirect_loop_is_named_and_stops_the_run(tmp_path: Path,
                                                    hostile: HostileServer) -> None:
    before = len(hostile.requests("redirect_loop"))
    done = curate(tmp_path, hostile.base_url("redirect_loop"))
    assert done.returncode == 2, done.stderr
    assert "redirect loop" in one_error_line(done) and "check base_url" in done.stderr
    made = len(hostile.requests("redirect_loop")) - before
    assert 0 < made <= 2 * (MAX_REDIRECTS + 1)  # advocate ∥ critic, once each, not retried
    assert [r.status for r in curate_runs(tmp_path)] == ["stopped"]
    assert_key_nowhere(tmp_path, done)


def test_a_cross_origin_redirect_does_not_carry_the_key(tmp_path: Path,
                                                        hostile: HostileServer) -> None:
    before = len(hostile.requests())
    done = curate(tmp_path, hostile.base_url("cross_origin"))
    assert done.returncode == 0, done.stderr
    seen = hostile.requests()[before:]
    named = [r for r in seen if r["port"] == hostile.ports[0]]
    elsewhere = [r for r in seen if r["port"] == hostile.ports[1]]
    assert named and all(r["authorization"] == f"Bearer {KEY}" for r in named)
    assert elsewhere and all(r["authorization"] is None for r in elsewhere)
    assert_key_nowhere(tmp_path, done)


@pytest.mark.parametrize("behaviour", ["retry_after", "retry_after_date"])
def test_an_hour_long_retry_after_stops_the_run_with_a_clear_error(
        tmp_path: Path, hostile: HostileServer, behaviour: str) -> None:
    before = len(hostile.requests(behaviour))
    done = curate(tmp_path, hostile.base_url(behaviour), here=True)
    assert done.returncode == 2, done.stderr
    line = one_error_line(done)
    assert "Retry-After" in line and "retry_after_max_s (60 s)" in line and "resume" in line
    assert len(hostile.requests(behaviour)) - before <= 2  # not retried, never slept
    (run,) = curate_runs(tmp_path)
    assert run.status == "stopped" and "Retry-After" in run.metrics["stopped"]


def test_a_run_stopped_by_retry_after_resumes_when_run_again(tmp_path: Path,
                                                             hostile: HostileServer) -> None:
    url = hostile.base_url("retry_after_then_answer")
    first = curate(tmp_path, url, here=True)
    assert first.returncode == 2 and [r.status for r in curate_runs(tmp_path)] == ["stopped"]
    second = curate(tmp_path, url, here=True)
    assert second.returncode == 0, second.stderr
    (run,) = curate_runs(tmp_path)  # the same run, resumed
    assert run.status == "finished" and run.metrics["items"] == {"done": 1}


def test_a_50_mb_answer_costs_at_most_the_bounds(tmp_path: Path, hostile: HostileServer) -> None:
    before = len(hostile.requests("huge"))
    done = curate(tmp_path, hostile.base_url("huge"), items=2, here=True)
    assert done.returncode == 1, done.stderr
    attempts = calls(tmp_path)
    assert attempts and all("ReplyTooLarge" in c.error for c in attempts)
    assert len(hostile.requests("huge")) - before == 4  # 2 items × 2 roles, not retried
    assert sum(p.stat().st_size for p in tmp_path.glob("k.*")) < 5_000_000
    assert [r.status for r in curate_runs(tmp_path)] == ["finished"]


def test_a_big_answer_is_kept_at_most_at_the_bound_everywhere(
        tmp_path: Path, hostile: HostileServer) -> None:
    """300,000 characters of answer and of reasoning (under the byte bound): cut where they come
    in, refused unparsed, re-asked; the call log, the item's state and its checkpoints hold at
    most MAX_ANSWER_CHARS of it per field."""
    from kindling.graphs.curate import build_curate_graph

    from kindling.checkpoints import open_checkpointer

    done = curate(tmp_path, hostile.base_url("big"), here=True)
    assert done.returncode == 1, done.stderr
    attempts = calls(tmp_path)
    assert len(attempts) == 2 * 3  # advocate and critic, parse_attempts each
    for c in attempts:
        assert MAX_ANSWER_CHARS - 100 < len(c.raw_output) <= MAX_ANSWER_CHARS
        assert MAX_ANSWER_CHARS - 100 < len(c.reasoning) <= MAX_ANSWER_CHARS
        assert f"more than the {MAX_ANSWER_CHARS}" in c.error
    (run,) = curate_runs(tmp_path)

    async def item_state() -> dict:
        async with open_checkpointer(f"sqlite:///{tmp_path / 'k.db'}", setup=False) as saver:
            graph = build_curate_graph().compile(checkpointer=saver)
            config = {"configurable": {"thread_id": f"curate:{run.id}:{attempts[0].item_key}"}}
            return (await graph.aget_state(config)).values

    failed_raw = asyncio.run(item_state())["failed_raw"]
    assert set(failed_raw) == {"advocate", "critic"}
    assert all(len(text) <= MAX_ANSWER_CHARS for text in failed_raw.values())
    assert (tmp_path / "k.langgraph.sqlite").stat().st_size < 5_000_000


def test_an_empty_answer_is_a_recorded_failure(tmp_path: Path, hostile: HostileServer) -> None:
    done = curate(tmp_path, hostile.base_url("empty"), here=True)
    assert done.returncode == 1, done.stderr
    assert all("blank answer" in c.error for c in calls(tmp_path))
    assert [r.status for r in curate_runs(tmp_path)] == ["finished"]


def test_a_text_file_named_gguf_is_named_before_llama_cpp_starts(tmp_path: Path) -> None:
    (tmp_path / "x.gguf").write_text("not a model\n", encoding="utf-8")
    (tmp_path / "items.jsonl").write_text('{"query": "生日", "response": "生日快乐"}\n',
                                          encoding="utf-8")
    done = kindling_here(tmp_path, "--db-url", f"sqlite:///{tmp_path / 'k.db'}", "judge",
                         "--file", str(tmp_path / "items.jsonl"), "--backend", "local", "--model",
                         str(tmp_path / "x.gguf"), "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "x.gguf is not a GGUF file" in one_error_line(done)
