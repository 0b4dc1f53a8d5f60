"""Whose database a store URL names: Kindling's own store, an empty database, or another program's.

Kindling writes only to stores it owns. A database is Kindling's when its `alembic_version` is at
one of Kindling's revisions and it holds Kindling's tables; other tables beside them (LangGraph's
checkpoint tables, a user's own) do not change that. A database with tables and no Kindling
schema is another program's (another program's Alembic revision included) and is refused before
anything is written. An empty database (or a missing SQLite file) becomes a store only for a
command that writes; a read-only command never creates one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kindling.store.errors import StoreError
from kindling.store.places import empty_store_message
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

KINDLING_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
"""Every revision of Kindling's migrations, oldest first (a test checks them against Alembic's)."""
CORE_TABLES = frozenset({"runs", "queries", "responses", "labels", "agent_calls", "verdicts",
                         "preference_pairs", "principle_versions", "run_items",
                         "dataset_records"})
"""The tables of Kindling's first revision: every Kindling store holds them."""
SHOWN_TABLES = 5
"""How many foreign table names a message lists."""
UNREADABLE = "an unreadable revision"

_SQLITE_TABLES = ("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                  "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
_PG_TABLES = ("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
              "ORDER BY c.relname")
_REVISIONS = "SELECT version_num FROM alembic_version"


@dataclass(frozen=True)
class Schema:
    """What a database holds: its tables and views (not SQLite's internal ones), and the
    revisions its `alembic_version` table records (empty when it has none)."""

    tables: tuple[str, ...]
    revisions: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.tables

    @property
    def is_kindling(self) -> bool:
        """Kindling's store: one Kindling revision recorded and Kindling's tables present."""
        return (len(self.revisions) == 1 and self.revisions[0] in KINDLING_REVISIONS
                and CORE_TABLES <= set(self.tables))

    @property
    def at_head(self) -> bool:
        """Kindling's store at the newest revision (nothing to migrate)."""
        return self.is_kindling and self.revisions[0] == KINDLING_REVISIONS[-1]


def read_schema(conn: Connection) -> Schema:
    """The schema seen through a SQLAlchemy connection (SQLite or PostgreSQL), read only.

    `alembic_version` is read only when it exists, so a caller's transaction is never aborted.
    """
    query = _PG_TABLES if conn.dialect.name == "postgresql" else _SQLITE_TABLES
    tables = tuple(conn.exec_driver_sql(query).scalars())
    revisions: tuple[str, ...] = ()
    if "alembic_version" in tables:
        try:
            revisions = tuple(str(r) for r in conn.exec_driver_sql(_REVISIONS).scalars())
        except DBAPIError:  # not Alembic's table: the database is refused as foreign
            revisions = (UNREADABLE,)
    return Schema(tables, revisions)


def read_sqlite_file(path: Path) -> Schema:
    """The schema of an existing SQLite file, opened read-only: nothing is created or written
    (no journal mode switch, no -wal file).

    With no -wal or -journal beside it, the file holds every committed change and is read as
    immutable: SQLite then makes no -wal and -shm even for a database in WAL mode.
    """
    settled = not any(Path(f"{path}{side}").exists() for side in ("-wal", "-journal"))
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if settled else "")
    conn = sqlite3.connect(uri, uri=True, timeout=30)
    try:
        tables = tuple(row[0] for row in conn.execute(_SQLITE_TABLES))
        revisions: tuple[str, ...] = ()
        if "alembic_version" in tables:
            try:
                revisions = tuple(str(row[0]) for row in conn.execute(_REVISIONS))
            except sqlite3.DatabaseError:
                revisions = (UNREADABLE,)
        return Schema(tables, revisions)
    finally:
        conn.close()


def check_owned(url: str, schema: Schema, *, create: bool) -> None:
    """Refuse a database that is not Kindling's, and an empty one unless `create`.

    Raises:
        StoreError: the database holds tables and no Kindling schema, or it is empty and the
            command only reads.
    """
    if schema.is_kindling:
        return
    if not schema.empty:
        raise StoreError(foreign_message(url, schema))
    if not create:
        raise StoreError(empty_store_message(url))


def foreign_message(url: str, schema: Schema) -> str:
    """One line naming what another program's database holds."""
    n = len(schema.tables)
    names = ", ".join(schema.tables[:SHOWN_TABLES])
    if n > SHOWN_TABLES:
        names += f", and {n - SHOWN_TABLES} more"
    what = f"{n} tables that are not Kindling's" if n > 1 else "1 table that is not Kindling's"
    alembic = ""
    if schema.revisions:
        alembic = (f" (its alembic_version is at {', '.join(schema.revisions)}, not a Kindling "
                   "revision with Kindling's tables)")
    return (f"{url} holds {what} ({names}) and no Kindling schema{alembic}; Kindling writes only "
            "to its own stores: choose a new file or an empty database")
