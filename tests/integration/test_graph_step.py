"""`kindling graph step`: breakpoints, state diffs, agent calls and edits, over real HTTP against the
stand-in server, on SQLite and PostgreSQL checkpointers; the stored verdict reflects the edit."""

from pathlib import Path

import pytest
from kindling.agents.judge.config import JudgeConfig
from kindling.graphs.registry import compile_graph
from kindling.store.db import Store
from kindling.store.models import Response, Run, RunItem, Verdict
from sqlalchemy import select
from typer.testing import CliRunner

from kindling.checkpoints import open_checkpointer
from kindling.cli import app
from kindling.debugger.session import StepError, StepSession
from kindling.debugger.targets import curate_target, judge_target
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config
from tests.standin import StandinServer

SHORT = "生日快乐呀"  # the stand-in judge says 0 under 40 characters
LONG = "亲爱的朋友，生日快乐！愿你新的一岁眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉。"


@pytest.fixture
def short_item_store(sqlite_store: Store) -> Store:
    seed_tiny_data(sqlite_store, [("生日祝福", SHORT, 0)])
    return sqlite_store


def final_verdict(store: Store, run_id: int) -> int | None:
    with store.session() as s:
        return s.scalars(select(Verdict.final_verdict).where(Verdict.run_id == run_id)).one()


async def test_break_inspect_edit_continue_changes_the_stored_verdict(
        short_item_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    with StandinServer() as server:
        target = curate_target(short_item_store, http_config(server.base_url))
        async with open_checkpointer(short_item_store.url) as saver:
            session = StepSession(compile_graph("curate", saver), target, break_before=["judge"])
            first = await session.begin()
            assert first.reason == "paused before retrieve_exemplars" and first.ran == []
            assert first.state["candidate"] == SHORT
            at_judge = await session.advance()
            assert at_judge.reason == "breakpoint before judge"
            assert set(at_judge.ran) == {"retrieve_exemplars", "advocate", "critic"}
            assert {"exemplars", "pros", "cons"} <= set(at_judge.changed)
            assert sorted(c["role"] for c in at_judge.calls) == ["advocate", "critic"]
            assert all(c["raw_output"] and c["parsed_output"] for c in at_judge.calls)
            with pytest.raises(StepError, match="no field 'candidat'"):
                await session.edit("candidat", LONG)
            edited = await session.edit("candidate", LONG)
            assert edited.changed == {"candidate": {"before": SHORT, "after": LONG}}
            assert edited.next == ["judge"]
            end = await session.advance()
        await target.close()
    assert end.finished and end.state["final_verdict"] == 1
    assert [c["role"] for c in end.calls] == ["judge", "reflect"]
    assert LONG in end.calls[0]["input"][-1]["content"]  # the judge saw the edited candidate
    assert final_verdict(short_item_store, target.run_id) == 1
    with short_item_store.session() as s:
        run = s.get(Run, target.run_id)
        assert run is not None and run.status == "finished" and run.config["stepped"] is True
        # the edit is recorded, and the verdict stands against the text the judge saw
        assert run.config["edits"] == [{"field": "candidate", "before": ["judge"],
                                        "after_nodes": ["retrieve_exemplars", "advocate",
                                                        "critic"]}]
        verdict = s.scalars(select(Verdict).where(Verdict.run_id == target.run_id)).one()
        judged = s.get(Response, verdict.response_id)
        assert judged is not None and (judged.text, judged.origin) == (LONG, "edited")
        item = s.scalars(select(RunItem).where(RunItem.run_id == target.run_id)).one()
        assert item.response_id == verdict.response_id


async def test_step_pauses_after_every_node(short_item_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    with StandinServer() as server:
        target = curate_target(short_item_store, http_config(server.base_url))
        async with open_checkpointer(short_item_store.url) as saver:
            session = StepSession(compile_graph("curate", saver), target)
            stop, ran = await session.begin(), []
            while not stop.finished:
                stop = await session.advance(step=True)
                ran.append(stop.ran)
        await target.close()
    assert ran == [["retrieve_exemplars"], ["advocate", "critic"], ["judge"], ["reflect"],
                   ["persist"]] or ran == [["retrieve_exemplars"], ["critic", "advocate"],
                                           ["judge"], ["reflect"], ["persist"]]
    assert final_verdict(short_item_store, target.run_id) == 0


async def test_judge_graph_edit_response_before_detect(sqlite_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    with StandinServer() as server:
        cfg = JudgeConfig(llm=http_config(server.base_url).llm)
        target = judge_target(sqlite_store, cfg, "生日祝福", SHORT)
        async with open_checkpointer(sqlite_store.url) as saver:
            session = StepSession(compile_graph("judge", saver), target, break_before=["detect"])
            await session.begin()
            before_detect = await session.advance()
            assert before_detect.ran == ["guard_response"] and before_detect.next == ["detect"]
            await session.edit("response", LONG)
            end = await session.advance()
        await target.close()
    assert end.state["verdict"] == 1 and [c["role"] for c in end.calls] == ["detect"]
    with sqlite_store.session() as s:
        run = s.get(Run, target.run_id)
        assert run is not None and run.metrics["verdict"] == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_cli_step_through_a_terminal_session(backend: str, tmp_path: Path, request,
                                             monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    store = Store(url)
    seed_tiny_data(store, [("生日祝福", SHORT, 0)])
    with StandinServer() as server:
        cfg = tmp_path / "curate.yaml"
        cfg.write_text(http_config(server.base_url).model_dump_json(), encoding="utf-8")
        typed = "c\np candidate\ncalls\ne candidate=" + LONG + "\nc\n"
        ran = CliRunner().invoke(app, ["--db-url", url, "graph", "step", "curate", "-c", str(cfg),
                                       "--break-before", "judge"], input=typed)
    assert ran.exit_code == 0, ran.output
    out = ran.output
    assert "breakpoint before judge" in out and "advocate" in out and "critic" in out
    assert "[human]" in out and "raw output" in out  # `calls` printed the transcripts in full
    assert "edited" in out and "finished" in out
    with store.session() as s:
        run_id = s.scalars(select(Run.id).where(Run.kind == "curate")).one()
    assert final_verdict(store, run_id) == 1
    store.close()


def test_cli_rejects_unknown_nodes_and_quits_cleanly(short_item_store: Store, tmp_path: Path,
                                                     monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    cli = CliRunner()
    url = short_item_store.url
    bad = cli.invoke(app, ["--db-url", url, "graph", "step", "curate", "--break-before", "jugde"])
    assert bad.exit_code == 2 and "no node 'jugde'" in bad.output
    with StandinServer() as server:
        cfg = tmp_path / "curate.yaml"
        cfg.write_text(http_config(server.base_url).model_dump_json(), encoding="utf-8")
        quit_ = cli.invoke(app, ["--db-url", url, "graph", "step", "curate", "-c", str(cfg)],
                           input="s\nq\n")
    assert quit_.exit_code == 0, quit_.output
    assert "stopped before advocate, critic" in quit_.output or \
        "stopped before critic, advocate" in quit_.output
    with short_item_store.session() as s:
        assert s.scalars(select(Run.status).where(Run.kind == "curate")).one() == "stopped"


async def test_adversarial_iteration_edit_strategies_before_generation(
        sqlite_store: Store, paper_data: Path, monkeypatch) -> None:
    from kindling.agents.adversarial.config import AdversarialConfig
    from kindling.ingest.imports import import_paper_data

    from kindling.debugger.targets import adversarial_target
    from tests.standin import StandinConfig

    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    import_paper_data(sqlite_store, paper_data, code_version="test")
    strategy = "把祝福写成一串没有对象的空洞形容词"
    script = StandinConfig(script="adversarial",
                           script_modules=["tests.standin.adversarial_scripts"])
    with StandinServer(script) as server:
        cfg = AdversarialConfig(iterations=5, batch_size=2, labelled_batch_size=6,
                                validation_size=6, llm=http_config(server.base_url).llm)
        target = adversarial_target(sqlite_store, cfg)
        async with open_checkpointer(sqlite_store.url) as saver:
            session = StepSession(compile_graph("adversarial", saver), target,
                                  break_before=["generate_flawed"])
            await session.begin()
            before = await session.advance()
            assert before.ran == ["validate_start", "sample_queries"]
            assert before.next == ["generate_flawed"]
            await session.edit("sg_rules", [strategy])
            end = await session.advance()
        await target.close()
    # the starting S_D's validation, one iteration, then it stops
    assert end.finished and [h["iteration"] for h in end.state["history"]] == [0, 1]
    generated = [c for c in end.calls if c["role"] == "generate_flawed"]
    assert generated and all(strategy in c["input"][-1]["content"] for c in generated)
    with sqlite_store.session() as s:
        run = s.get(Run, target.run_id)
        assert run is not None and run.status == "finished" and run.config["iterations"] == 1


async def test_studio_outlines_where_a_quit_stepped_item_stands(short_item_store: Store,
                                                                monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from kindling.studio.app import create_app

    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    with StandinServer() as server:
        target = curate_target(short_item_store, http_config(server.base_url))
        async with open_checkpointer(short_item_store.url) as saver:
            session = StepSession(compile_graph("curate", saver), target, break_before=["judge"])
            await session.begin()
            await session.advance()  # then the user quits before the judge
        await target.close()
    key = target.item_key
    with TestClient(create_app(short_item_store.url), base_url="http://127.0.0.1") as client:
        item = client.get(f"/api/runs/{target.run_id}/items/{key}").json()
        page = client.get(f"/runs/{target.run_id}/items/{key}").text
    assert item["current"] == ["judge"] and "judge" not in item["path"]
    assert 'class="node current" data-node="judge"' in page and "stands before" in page
