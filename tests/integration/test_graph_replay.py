"""`kindling graph replay`: a stored run walked checkpoint by checkpoint, and forked at a checkpoint
with an edited state into a new run without repeating the LLM calls before the fork."""

from pathlib import Path

import pytest
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run, Verdict
from sqlalchemy import select
from typer.testing import CliRunner

from kindling.cli import app
from kindling.debugger.history import load_history
from kindling.debugger.replay import fork_run
from kindling.services.curate import CurateRunner
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config
from tests.standin import StandinConfig, StandinServer

SHORT = "生日快乐呀"
LONG = "亲爱的朋友，生日快乐！愿你新的一岁眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉。"


def verdicts(store: Store) -> dict[int, int | None]:
    with store.session() as s:
        return {run: final for run, final in s.execute(select(Verdict.run_id, Verdict.final_verdict))}


def roles_of(store: Store, run_id: int) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(AgentCall.role).where(AgentCall.run_id == run_id)
                              .order_by(AgentCall.id)))


async def curated_run(store: Store, base_url: str) -> tuple[int, str]:
    outcome = await CurateRunner(store, http_config(base_url), show_progress=False).run()
    with store.session() as s:
        key = s.scalars(select(Verdict.item_key).where(Verdict.run_id == outcome.run_id)).one()
    return outcome.run_id, key


async def test_history_walks_every_node_with_its_changes(sqlite_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, [("生日祝福", SHORT, 0)])
    with StandinServer() as server:
        run_id, key = await curated_run(sqlite_store, server.base_url)
    steps = await load_history(sqlite_store, run_id, key)
    assert [s.source for s in steps][:2] == ["input", "loop"] and steps[-1].next == []
    ran = [sorted(s.ran) for s in steps[1:]]
    assert ran == [["(input)"], ["retrieve_exemplars"], ["advocate", "critic"], ["judge"],
                   ["reflect"], ["persist"]]
    judged = next(s for s in steps if s.ran == ["judge"])
    assert set(judged.changed) == {"initial_verdict", "judge_reason"}
    assert judged.changed["initial_verdict"] == {"before": None, "after": 0}


@pytest.mark.parametrize("backend", ["sqlite_store", "pg_store"])
async def test_fork_before_judge_makes_no_calls_for_earlier_nodes(backend: str, request,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    store: Store = request.getfixturevalue(backend)
    seed_tiny_data(store, [("生日祝福", SHORT, 0)])
    with StandinServer() as server:
        run_id, key = await curated_run(store, server.base_url)
        steps = await load_history(store, run_id, key)
        before_judge = next(s for s in steps if s.next == ["judge"])
        server.reset()
        outcome = await fork_run(store, run_id, key, before_judge, {"candidate": LONG})
        asked = [r["role"] for r in server.requests()]
    assert asked == ["judge", "reflect"]  # advocate and critic were not asked again
    assert roles_of(store, outcome.run_id) == ["judge", "reflect"]
    assert verdicts(store) == {run_id: 0, outcome.run_id: 1}
    with store.session() as s:
        forked = s.get(Run, outcome.run_id)
        assert forked is not None and forked.kind == "curate"
        assert forked.config["forked_from"] == {"run_id": run_id, "item_key": key,
                                                "checkpoint_id": before_judge.checkpoint_id}
    # the fork's own history starts at the copied checkpoint, then the edit, then judge onwards
    forked_steps = await load_history(store, outcome.run_id, key)
    assert forked_steps[0].source == "fork" and forked_steps[1].ran == ["(edit)"]
    assert [s.ran for s in forked_steps[2:]] == [["judge"], ["reflect"], ["persist"]]


def table_counts(store: Store) -> dict[str, int]:
    from kindling.store.models import AgentCall, Run, RunItem, Verdict
    from sqlalchemy import func, select

    with store.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Run, RunItem, AgentCall, Verdict)}


def test_cli_replay_walks_back_and_forks(sqlite_store: Store, tmp_path: Path,
                                         monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, [("生日祝福", SHORT, 0)])
    cli, url = CliRunner(), sqlite_store.url
    with StandinServer() as server:
        cfg = tmp_path / "curate.yaml"
        cfg.write_text(http_config(server.base_url).model_dump_json(), encoding="utf-8")
        assert cli.invoke(app, ["--db-url", url, "curate", "-c", str(cfg), "--no-progress"]
                          ).exit_code == 0
        listed = cli.invoke(app, ["--db-url", url, "graph", "replay", "2", "--list"])
        assert listed.exit_code == 0, listed.output
        assert "checkpoint 7/7" in listed.output and "initial_verdict" in listed.output
        walked = cli.invoke(app, ["--db-url", url, "graph", "replay", "2"],
                            input="n\nn\nn\nb\np candidate\ng 4\nf candidate=" + LONG + "\nq\n")
        assert walked.exit_code == 0, walked.output
        assert "checkpoint 3/7" in walked.output and SHORT in walked.output
        assert "forked run 2 at checkpoint 4 into run 3" in walked.output
        missing = cli.invoke(app, ["--db-url", url, "graph", "replay", "99"])
        assert missing.exit_code == 2 and "no run with id 99 in the store" in missing.output
        bad_fork = cli.invoke(app, ["--db-url", url, "graph", "replay", "2", "--fork-at", "7"])
        assert bad_fork.exit_code == 2 and "where the run ended" in bad_fork.output
        before = table_counts(sqlite_store)
        no_field = cli.invoke(app, ["--db-url", url, "graph", "replay", "2", "--fork-at", "1",
                                    "--edit", "nofield=1"])
        assert no_field.exit_code == 2 and "has no field 'nofield'" in no_field.output
        assert table_counts(sqlite_store) == before  # no run, item or call was made
    assert verdicts(sqlite_store) == {2: 0, 3: 1}


async def test_fork_an_adversarial_run_before_detect(sqlite_store: Store, paper_data: Path,
                                                      monkeypatch) -> None:
    from kindling.agents.adversarial.config import AdversarialConfig
    from kindling.ingest.imports import import_paper_data

    from kindling.services.adversarial import AdversarialRunner
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    import_paper_data(sqlite_store, paper_data, code_version="test")
    script = StandinConfig(script="adversarial",
                           script_modules=["tests.standin.adversarial_scripts"])
    with StandinServer(script) as server:
        cfg = AdversarialConfig(iterations=1, batch_size=2, labelled_batch_size=6,
                                validation_size=6, llm=http_config(server.base_url).llm)
        done = await AdversarialRunner(sqlite_store, cfg).run()
        steps = await load_history(sqlite_store, done.run_id)
        before_detect = next(s for s in steps if s.next == ["detect"])
        outcome = await fork_run(sqlite_store, done.run_id, None, before_detect, {})
    assert steps[-1].next == [] and [s.ran for s in steps[2:5]] == [
        ["validate_start"], ["sample_queries"], ["generate_flawed"]]
    roles = roles_of(sqlite_store, outcome.run_id)
    assert "generate_flawed" not in roles and roles[0] == "detect"
    assert outcome.stop.finished and len(outcome.stop.state["history"]) == 2  # start + it 1


async def test_fork_judges_under_the_source_runs_rules(sqlite_store: Store, tmp_path: Path,
                                                       monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    seed_tiny_data(sqlite_store, [("生日祝福", SHORT, 0)])
    rules = tmp_path / "rules.yaml"
    rules.write_text("name: mine\nkind: debate_judge\nrules: [原来的规则]\n", encoding="utf-8")
    with StandinServer(StandinConfig(record_bodies=True)) as server:
        cfg = http_config(server.base_url, prompt_set="kindling",
                          principles=str(rules))
        done = await CurateRunner(sqlite_store, cfg, show_progress=False).run()
        rules.write_text("name: mine\nkind: debate_judge\nrules: [后来改的规则]\n", encoding="utf-8")
        steps = await load_history(sqlite_store, done.run_id, "r3")
        server.reset()
        await fork_run(sqlite_store, done.run_id, "r3", next(s for s in steps
                                                             if s.next == ["judge"]), {})
        judge_prompt = next(r for r in server.requests() if r["role"] == "judge")
    text = str(judge_prompt["body"]["messages"])
    assert "原来的规则" in text and "后来改的规则" not in text
