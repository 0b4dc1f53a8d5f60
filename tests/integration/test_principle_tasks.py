"""Principle versions record their task: migration 0004 on an older store, the refusal of a
version of another task (and --force-task, recorded), per-task active versions, and the task and
language kept through export and import."""

from pathlib import Path

import pytest
import yaml
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.task import resolve_task
from kindling.store.db import Store
from kindling.store.models import Run
from kindling.store.principle_tasks import version_task
from kindling.store.principles import (
    PrincipleTaskMismatch,
    activate,
    active_version,
    add_version,
    get_version,
    list_versions,
    register_version,
    resolve_version,
)
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from kindling.cli import app
from tests.unit.test_store_ownership import alembic_config, upgrade_to

OLD_ROW = ("INSERT INTO principle_versions (kind, name, text, text_hash, origin, metrics, active, "
           "created_at) VALUES ('detector', 'old', :text, :hash, 'file', '{}', :active, "
           "CURRENT_TIMESTAMP)")


@pytest.mark.parametrize("backend", ["sqlite_url", "pg_url"])
def test_migration_adds_task_and_reads_old_versions_as_greetings_zh(backend: str,
                                                                     request) -> None:
    from kindling.store.models import text_hash

    url = request.getfixturevalue(backend)
    upgrade_to(url, "0003")
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_ROW), {"text": "切题\n真诚", "hash": text_hash("切题\n真诚"),
                                     "active": True})
    engine.dispose()
    store = Store(url)
    try:
        (old,) = list_versions(store)
        assert (old.task, old.task_hash, version_task(old)) == (None, None, "greetings-zh")
        assert active_version(store, "detector", "greetings-zh").id == old.id
        assert active_version(store, "detector", "slogans-en") is None
        # the same rules under greetings-zh are the old version; under slogans-en a new one
        assert add_version(store, kind="detector", name="x", text=old.text, origin="file",
                           task="greetings-zh") == (old.id, False)
        en, created = add_version(store, kind="detector", name="x", text=old.text, origin="file",
                                  task="slogans-en", task_hash="h")
        assert created and get_version(store, en).task == "slogans-en"
        assert [v.id for v in list_versions(store, task="greetings-zh")] == [old.id]
        assert [v.id for v in list_versions(store, task="slogans-en")] == [en]
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite_url", "pg_url"])
def test_migration_reads_a_stored_judge_set_as_debate_judge(backend: str, request) -> None:
    """0007: Path A's sets stored as kind judge are kind debate_judge; a downgrade turns them back."""
    from alembic import command
    from kindling.store.models import text_hash
    from sqlalchemy import create_engine

    url = request.getfixturevalue(backend)
    upgrade_to(url, "0006")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_ROW.replace("'detector'", "'judge'")),
                     {"text": "切题", "hash": text_hash("切题"), "active": True})
    engine.dispose()
    store = Store(url)
    try:
        (old,) = list_versions(store)
        assert old.kind == "debate_judge"
        assert active_version(store, "debate_judge", "greetings-zh").id == old.id
        assert resolve_version(store, str(old.id), "debate_judge", "").id == old.id
        with store.engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006")
            assert conn.execute(text("SELECT kind FROM principle_versions")).scalars().all() \
                == ["judge"]
    finally:
        store.close()


def test_migration_keeps_rows_that_point_at_a_version(sqlite_url: str) -> None:
    """SQLite rebuilds principle_versions to add its columns; a judgment pointing at a version
    must not stop it (foreign keys are off for the migration only, and checked before commit)."""
    from kindling.store.models import Judgment, text_hash
    from sqlalchemy import create_engine

    upgrade_to(sqlite_url, "0003")
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text(OLD_ROW), {"text": "切题", "hash": text_hash("切题"), "active": True})
        conn.execute(text(
            "INSERT INTO judgments (principle_version_id, model, query_hash, response_hash, "
            "samples, query, response, verdict, flagged, created_at) VALUES (1, 'm', 'q', 'r', 1, "
            "'q', 'r', 1, 0, CURRENT_TIMESTAMP)"))
    engine.dispose()
    store = Store(sqlite_url)
    try:
        (old,) = list_versions(store)
        with store.session() as s:
            assert s.scalar(select(Judgment.principle_version_id)) == old.id
            assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1  # on again for work
    finally:
        store.close()


def test_active_is_per_kind_and_task(sqlite_store: Store) -> None:
    zh = register_version(sqlite_store, kind="detector", name="zh", text="切题", origin="file")
    en = register_version(sqlite_store, kind="detector", name="en", text="On point",
                          origin="file", task="slogans-en")
    activate(sqlite_store, zh)
    activate(sqlite_store, en)
    assert active_version(sqlite_store, "detector", "greetings-zh").id == zh
    assert active_version(sqlite_store, "detector", "slogans-en").id == en
    # with no set named, each task's run starts from its own active version
    assert resolve_version(sqlite_store, None, "detector", "detector_initial",
                           task="slogans-en").id == en


def test_a_version_of_another_task_is_refused_unless_forced(sqlite_store: Store) -> None:
    from kindling.debugger.targets import judge_target

    en = resolve_version(sqlite_store, "detector_slogans_en", "detector", "",
                         task="slogans-en").id
    runs = select(func.count()).select_from(Run)
    with sqlite_store.session() as s:
        before = s.scalar(runs)
    cfg = JudgeConfig(principles=str(en))
    chat = FakeListChatModel(responses=["{}"])
    with pytest.raises(PrincipleTaskMismatch) as refused:
        judge_target(sqlite_store, cfg, "q", "r", chat_model=chat)
    message = str(refused.value)
    assert "\n" not in message
    assert all(part in message for part in (f"principle version {en}", "task slogans-en",
                                            "this run's task is greetings-zh", "--force-task"))
    with sqlite_store.session() as s:
        assert s.scalar(runs) == before  # refused before any run was created
    forced = cfg.model_copy(update={"force_task": True})
    target = judge_target(sqlite_store, forced, "q", "r", chat_model=chat)
    with sqlite_store.session() as s:
        config = s.get(Run, target.run_id).config
    assert config["force_task"] is True
    assert config["task_forced"] == [{"version": en, "kind": "detector",
                                      "version_task": "slogans-en", "run_task": "greetings-zh"}]
    assert config["task_used"]["name"] == "greetings-zh"


def test_the_adversarial_loop_stores_versions_under_its_task(sqlite_store: Store) -> None:
    from kindling.agents.adversarial.state import AdversarialContext

    task = resolve_task("slogans-en")
    context = AdversarialContext.__new__(AdversarialContext)
    context.store, context.run_id = sqlite_store, None  # type: ignore[assignment]
    context.task, context.task_hash = task.name, task.content_hash
    vid = context.new_version(kind="detector", rules=["Be specific"], parent_id=None,
                              iteration=1, feedback="f")
    made = get_version(sqlite_store, vid)
    assert (made.task, made.task_hash) == ("slogans-en", task.content_hash)


def _cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", url, "principles", *args])
    return result.exit_code, result.output


def test_export_import_keeps_task_and_language_and_list_filters(
        sqlite_store: Store, sqlite_url: str, tmp_path: Path, monkeypatch) -> None:
    from rich.console import Console

    from kindling.commands import principles as principles_cmd

    monkeypatch.setattr(principles_cmd, "console", Console(width=200))  # a table row per line
    en = resolve_version(sqlite_store, "detector_slogans_en", "detector", "",
                         task="slogans-en").id
    zh = resolve_version(sqlite_store, "detector_initial", "detector", "").id
    code, out = _cli(sqlite_url, "export", str(en), "--out", str(tmp_path / "en.yaml"))
    assert code == 0, out
    data = yaml.safe_load((tmp_path / "en.yaml").read_text(encoding="utf-8"))
    assert (data["language"], data["task"]) == ("en", "slogans-en")
    code, out = _cli(sqlite_url, "export", str(zh), "--out", str(tmp_path / "zh.yaml"))
    assert yaml.safe_load((tmp_path / "zh.yaml").read_text(encoding="utf-8"))["language"] == "zh"

    other = f"sqlite:///{tmp_path / 'other.db'}"
    code, out = _cli(other, "import", str(tmp_path / "en.yaml"))
    assert code == 0 and "for task slogans-en" in out, out
    code, out = _cli(other, "import", str(tmp_path / "zh.yaml"))
    assert code == 0 and "for task greetings-zh" in out, out
    store = Store(other)
    try:
        imported = {version_task(v): v for v in list_versions(store)}
        assert set(imported) == {"slogans-en", "greetings-zh"}
        assert imported["slogans-en"].text == get_version(sqlite_store, en).text
    finally:
        store.close()

    code, out = _cli(other, "list")
    assert code == 0 and "slogans-en" in out and "greetings-zh" in out
    code, out = _cli(other, "list", "--task", "slogans-en")
    assert code == 0 and "slogans-en" in out and "greetings-zh" not in out, out
    code, out = _cli(other, "show", "1")
    assert "task=slogans-en" in out


def test_import_refuses_a_language_or_task_that_is_not_the_tasks(sqlite_url: str,
                                                                  tmp_path: Path) -> None:
    english = tmp_path / "en.yaml"
    english.write_text("kind: detector\nlanguage: en\nrules: [Be specific]\n", encoding="utf-8")
    code, out = _cli(sqlite_url, "import", str(english))
    assert code == 2 and "task greetings-zh is written in zh" in out
    code, out = _cli(sqlite_url, "import", str(english), "--task", "slogans-en")
    assert code == 0 and "for task slogans-en" in out, out
