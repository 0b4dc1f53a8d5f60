"""Whose database a store is: Kindling's own stores (older revisions, LangGraph's tables beside
them) open; a failed first-time setup leaves nothing; of two first-time builds one store wins."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from kindling.store.db import MIGRATIONS, Store, migrate, schema_revision
from kindling.store.errors import StoreError
from kindling.store.ownership import CORE_TABLES, KINDLING_REVISIONS
from kindling.store.sqlite_files import publish_new_store
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL


def alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade_to(url: str, revision: str, *rows: str) -> None:
    """A store as an older Kindling left it: migrated only up to `revision`, holding what the
    SQL `rows` insert."""
    from alembic import command
    from sqlalchemy import text

    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        for row in rows:
            conn.execute(text(row))
    engine.dispose()


def test_kindlings_revisions_and_tables_are_its_migrations() -> None:
    from alembic.script import ScriptDirectory
    from kindling.store.models import Base

    script = ScriptDirectory.from_config(alembic_config())
    assert [r.revision for r in script.walk_revisions()][::-1] == list(KINDLING_REVISIONS)
    assert CORE_TABLES <= set(Base.metadata.tables)


@pytest.mark.parametrize("revision", KINDLING_REVISIONS[:-1])
def test_a_store_of_an_older_kindling_is_migrated_even_by_a_reader(tmp_path: Path,
                                                                   revision: str) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_to(url, revision)
    store = Store(url, create=False)
    assert schema_revision(store.engine) == KINDLING_REVISIONS[-1]
    assert "reasoning" in {c["name"] for c in inspect(store.engine).get_columns("agent_calls")}
    store.close()


def test_a_reader_never_creates_a_store(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    with pytest.raises(StoreError) as missing:
        Store(f"sqlite:///{typo}", create=False)
    assert str(missing.value).startswith(
        f"no Kindling store at {typo} (commands that only read never create one): check the "
        "path in --db-url or KINDLING_DB_URL")
    (tmp_path / "empty.db").touch()
    with pytest.raises(StoreError, match=f"no Kindling store at {tmp_path}/empty.db: the "
                                         "database is empty"):
        Store(f"sqlite:///{tmp_path / 'empty.db'}", create=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]
    assert (tmp_path / "empty.db").stat().st_size == 0


def test_a_writer_makes_a_store_in_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    assert schema_revision(store.engine) == KINDLING_REVISIONS[-1]
    store.close()


def test_a_failed_first_setup_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    from alembic import command

    real = command.upgrade

    def upgrade_then_fail(cfg, revision):  # type: ignore[no-untyped-def]
        real(cfg, revision)
        raise RuntimeError("disk full")

    monkeypatch.setattr(command, "upgrade", upgrade_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        Store(f"sqlite:///{tmp_path / 'new.db'}")
    assert list(tmp_path.iterdir()) == []  # no store, no temporary file, no -wal
    (tmp_path / "empty.db").touch()  # an empty file a user made: the schema is rolled back
    with pytest.raises(RuntimeError, match="disk full"):
        Store(f"sqlite:///{tmp_path / 'empty.db'}")
    conn = sqlite3.connect(tmp_path / "empty.db")
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    conn.close()


def test_the_loser_of_two_first_builds_keeps_the_winners_store(tmp_path: Path) -> None:
    target = tmp_path / "k.db"

    def build_while_another_publishes(url: URL) -> None:
        Store(str(url)).close()
        Store(f"sqlite:///{target}").close()  # the other process, first to publish
        with Store(f"sqlite:///{target}").session() as s:
            s.execute(text("INSERT INTO queries (text, text_hash) VALUES ('winner', 'w')"))

    publish_new_store(target, build_while_another_publishes)
    store = Store(f"sqlite:///{target}", create=False)
    with store.session() as s:
        assert s.execute(text("SELECT text FROM queries")).scalars().all() == ["winner"]
    store.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".k.db")] == []


def test_a_failed_migration_on_postgres_leaves_the_database_empty(pg_url: str,
                                                                  monkeypatch) -> None:
    from alembic import command

    real = command.upgrade

    def upgrade_then_fail(cfg, revision):  # type: ignore[no-untyped-def]
        real(cfg, revision)
        raise RuntimeError("connection lost")

    monkeypatch.setattr(command, "upgrade", upgrade_then_fail)
    with pytest.raises(RuntimeError, match="connection lost"):
        Store(pg_url)
    engine = create_engine(pg_url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()


def test_migrate_checks_ownership_under_its_lock(pg_url: str) -> None:
    """The check is repeated inside the locked transaction, not only before it."""
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE accounts (id int)"))
    with pytest.raises(StoreError, match=r"1 table that is not Kindling's \(accounts\)"):
        migrate(engine, pg_url)
    assert inspect(engine).get_table_names() == ["accounts"]
    engine.dispose()


def test_langgraphs_tables_do_not_make_a_postgres_store_foreign(pg_url: str) -> None:
    """A store with LangGraph's checkpoint tables, even one at an older revision, is ours."""
    from alembic import command

    store = Store(pg_url)
    with store.engine.begin() as conn:
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes",
                      "checkpoint_migrations"):
            conn.execute(text(f"CREATE TABLE {table} (thread_id text)"))
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, KINDLING_REVISIONS[-2])
    store.close()
    reader = Store(pg_url, create=False)
    assert schema_revision(reader.engine) == KINDLING_REVISIONS[-1]
    assert "checkpoints" in inspect(reader.engine).get_table_names()
    reader.close()


@pytest.mark.parametrize("backend", ["sqlite_url", "pg_url"])
def test_a_reader_creates_no_checkpoint_tables(backend: str, request, tmp_path: Path) -> None:
    """`graph replay` of a run that left no checkpoints makes neither LangGraph's file beside a
    SQLite store nor its tables in a PostgreSQL one."""
    from kindling.store import work
    from typer.testing import CliRunner

    from kindling.cli import app

    url = request.getfixturevalue(backend)
    store = Store(url)
    run, _ = work.get_or_create_run(store, kind="adversarial", run_key=None, config={},
                                    code_version="test")
    result = CliRunner().invoke(app, ["--db-url", url, "graph", "replay", str(run.id), "--list"])
    assert result.exit_code == 2 and "left no checkpoints" in result.stderr, result.output
    assert not list(tmp_path.glob("*.langgraph.sqlite"))
    assert not [t for t in inspect(store.engine).get_table_names() if t.startswith("checkpoint")]
    store.close()
