from kindling.store.db import Store, resolve_db_url
from kindling.store.models import Query, text_hash
from sqlalchemy import inspect, select


def test_migrations_create_every_table(sqlite_store: Store) -> None:
    tables = set(inspect(sqlite_store.engine).get_table_names())
    assert {"runs", "queries", "responses", "labels", "agent_calls", "verdicts",
            "preference_pairs", "principle_versions", "run_items", "dataset_records"} <= tables


def test_migrate_twice_is_idempotent(sqlite_url: str) -> None:
    Store(sqlite_url).close()
    store = Store(sqlite_url)
    with store.session() as s:
        s.add(Query(text="新年祝福", text_hash=text_hash("新年祝福")))
    with store.session() as s:
        assert s.scalars(select(Query.text)).all() == ["新年祝福"]


def test_db_url_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_DB_URL", "postgresql://u@h/db")
    assert resolve_db_url() == "postgresql+psycopg://u@h/db"
    assert resolve_db_url("sqlite:///x.db") == "sqlite:///x.db"


def test_postgres_store_migrates(pg_store: Store) -> None:
    assert "agent_calls" in inspect(pg_store.engine).get_table_names()


def test_head_revision_is_alembics_head(sqlite_store: Store) -> None:
    """The fast start-up check (skip Alembic at the head) must know the newest migration."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from kindling.store.db import HEAD_REVISION, MIGRATIONS, schema_revision

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION
    assert schema_revision(sqlite_store.engine) == HEAD_REVISION
