"""Engines and sessions for SQLite (WAL) and PostgreSQL, with Alembic migrations applied on open."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kindling.store.errors import StoreError
from kindling.store.ownership import KINDLING_REVISIONS, check_owned, read_schema
from kindling.store.places import DEFAULT_STORE_FILE, shown_url, sqlite_file
from kindling.store.sqlite_files import prepare_sqlite_file
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DB_URL = f"sqlite:///{DEFAULT_STORE_FILE}"
MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = KINDLING_REVISIONS[-1]
"""The newest migration's revision id (a test checks it against Alembic's own head)."""
ID_MAX = {"sqlite": 2**63 - 1, "postgresql": 2**31 - 1}
"""The largest id an integer primary key holds on each backend (SQLite INTEGER, PostgreSQL
SERIAL): a larger one names no row, and SQLite cannot even bind it."""
SCHEMA_LOCK = 727274
"""PostgreSQL advisory lock held while the schema is checked and migrated."""
DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
SQLITE_HEADER = b"SQLite format 3\x00"
URL_HELP = "expected sqlite:///path/to/file.db or postgresql://user@host:5432/dbname"


def id_fits(row_id: int, backend: str) -> bool:
    """Whether a row id can be in a table of this backend at all (ids start at 1); an unknown
    backend gets the smallest range."""
    return 1 <= row_id <= ID_MAX.get(backend, ID_MAX["postgresql"])


def resolve_db_url(explicit: str | None = None) -> str:
    """The store URL: explicit value, else `KINDLING_DB_URL`, else a SQLite file in the cwd."""
    url = explicit or os.environ.get("KINDLING_DB_URL") or DEFAULT_DB_URL
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def check_db_url(url: str) -> URL:
    """Parse a store URL and check what can be checked without connecting.

    Raises:
        StoreError: not a URL, an unsupported database, or a SQLite path whose folder is missing
            or that is a folder or a file of another kind (nothing is created).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"store URL {url!r} is not a database URL ({URL_HELP})") from None
    if parsed.drivername not in DRIVERS:
        raise StoreError(f"store URL {shown_url(url)!r}: unsupported database "
                         f"{parsed.drivername!r}: Kindling stores runs in SQLite or PostgreSQL "
                         f"({URL_HELP})")
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_path(url, parsed)
    return parsed


def _check_sqlite_path(url: str, parsed: URL) -> None:
    database = parsed.database or ":memory:"
    if database == ":memory:" or parsed.query.get("uri") == "true":
        return
    path = Path(database)
    if not path.parent.is_dir():
        raise StoreError(f"store {url}: folder {path.parent} does not exist (create it first)")
    if path.is_dir():
        raise StoreError(f"store {url}: {path} is a folder, not a SQLite file")
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise StoreError(f"store {url}: {path} is not a SQLite database "
                                 "(choose another file, or a new one)")


def describe_db_error(url: str, exc: DBAPIError) -> str:
    """One line for a database error: the store and the driver's own first line."""
    original = str(exc.orig) if exc.orig is not None else str(exc)
    first = next((line.strip() for line in original.splitlines() if line.strip()), original)
    if "readonly" in first.replace(" ", "").lower() or "read-only" in first.lower():
        return f"store {shown_url(url)} is read-only ({first}); this command needs to write to it"
    return f"cannot use the store {shown_url(url)}: {first}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str | URL) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def schema_revision(engine: Engine) -> str | None:
    """The store's Alembic revision (None: a new or non-Kindling database)."""
    with engine.connect() as conn:
        revisions = read_schema(conn).revisions
    return revisions[0] if len(revisions) == 1 else None


def open_schema(engine: Engine, url: str, *, create: bool) -> None:
    """Check that the database is Kindling's and bring it to the newest revision.

    A store already at the head is only read (Alembic is not even imported: commands start
    fast). Another program's database is refused before anything is written; an empty one
    gets the schema only when `create`.

    Raises:
        StoreError: another program's database, or an empty one and not `create`.
    """
    with engine.connect() as conn:
        schema = read_schema(conn)
    if schema.at_head:
        return
    check_owned(url, schema, create=create)
    migrate(engine, url)


def migrate(engine: Engine, url: str | None = None) -> None:
    """Bring a Kindling store (or an empty database) to the newest revision, in one
    transaction under the schema lock, the ownership check repeated under it (idempotent, safe
    for concurrent starts; a failed migration leaves the database as it was).

    Raises:
        StoreError: the database holds another program's tables.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with schema_lock(engine) as conn:
        schema = read_schema(conn)
        if schema.at_head:
            return
        check_owned(url or shown_url(str(engine.url)), schema, create=True)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def schema_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the schema lock until it ends: PostgreSQL's advisory lock, or
    SQLite's write lock (BEGIN IMMEDIATE on a connection of its own in which DDL is part of
    the transaction, so a failed migration is rolled back whole)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
            yield conn
        return
    if (engine.url.database or ":memory:") == ":memory:":
        with engine.begin() as conn:  # one in-memory database per engine: no second engine
            yield conn
        return
    ddl_engine = make_engine(engine.url)
    event.listen(ddl_engine, "connect", _driver_autocommit)
    event.listen(ddl_engine, "connect", _foreign_keys_off)
    event.listen(ddl_engine, "begin", _begin_immediate)
    try:
        with ddl_engine.begin() as conn:
            yield conn
            _check_foreign_keys(conn)
    finally:
        ddl_engine.dispose()


def _driver_autocommit(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None  # pysqlite no longer commits before DDL by itself


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _foreign_keys_off(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    """SQLite changes a table by copying it into a new one and dropping the old (Alembic's batch
    mode); with foreign keys on, dropping a table other rows point at fails. Off for the
    migration's connection only (a pragma that must be set outside a transaction), checked
    before the commit by `_check_foreign_keys`."""
    dbapi_conn.execute("PRAGMA foreign_keys=OFF")


def _check_foreign_keys(conn: Connection) -> None:
    """Refuse to commit a migration that left a row pointing at nothing (rolled back whole).

    Raises:
        StoreError: the first broken reference, by table and row.
    """
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise StoreError(f"migration left {len(broken)} broken reference(s), e.g. {table} row "
                         f"{rowid} → {parent}; nothing was changed")


def _build_new_store(url: URL) -> None:
    """The schema in a new SQLite file (published by `sqlite_files.publish_new_store`)."""
    engine = make_engine(url)
    try:
        migrate(engine, str(url))
    finally:
        engine.dispose()


class Store:
    """The SQL store: an engine plus a session factory. Passed to nodes via the runtime context."""

    def __init__(self, url: str | None = None, *, create: bool = True) -> None:
        """Open the store and bring its schema to the newest migration.

        Args:
            url: The store URL (default: `resolve_db_url`).
            create: Make the store when the SQLite file is missing or the database is empty;
                False (a read-only command) refuses both instead.

        Raises:
            StoreError: the URL is malformed or unsupported; the database cannot be reached or
                opened, is not a database, is read-only and needs a migration, holds another
                program's tables, or is missing or empty and not `create`.
        """
        self.url = resolve_db_url(url)
        parsed = check_db_url(self.url)
        shown = shown_url(self.url)
        try:
            path = sqlite_file(parsed)
            if path is not None:
                prepare_sqlite_file(shown, parsed, path, create=create, build=_build_new_store)
            self.engine = make_engine(self.url)
            try:
                open_schema(self.engine, shown, create=create)
            except BaseException:
                self.engine.dispose()
                raise
        except DBAPIError as exc:
            raise StoreError(describe_db_error(self.url, exc)) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use the store {shown}: {exc}") from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def check_writable(self) -> None:
        """Fail now, not after the work, when the store cannot be written (a read-only file or
        mount, a read-only URL or replica): a write that matches no row, rolled back.

        Raises:
            StoreError: the store is read-only.
        """
        try:
            with self.engine.connect() as conn:
                conn.execute(text("UPDATE runs SET kind = kind WHERE 1 = 0"))
                conn.rollback()
        except DBAPIError as exc:
            raise StoreError(describe_db_error(self.url, exc)) from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: commits on success, rolls back on any error."""
        with self._sessions() as s, s.begin():
            yield s

    def close(self) -> None:
        self.engine.dispose()
