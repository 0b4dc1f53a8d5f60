"""Kindling writes only to stores it owns. Every command that opens the store, pointed at another
program's database (SQLite files of several kinds, a PostgreSQL database), exits 2 with one line
naming what it found, and that database is left as it was: the file byte for byte with no -wal
beside it, the PostgreSQL tables as they were. A read-only command given a missing SQLite file or
an empty database creates nothing. Two first-time imports on one new file both succeed, and the
store holds one copy of the data.

The commands run in this process on one built command tree; the ownership check comes before
any heavy import, so a case costs milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PAPER_DATA
from tests.reliability.cases import STORE_COMMANDS, WRITERS
from tests.reliability.world import PG_ADMIN, REPO, invoke, pg_admin

pytestmark = pytest.mark.reliability

READERS = [name for name in STORE_COMMANDS if name not in WRITERS]
IDS = {"import_run": 1, "curate_run": 2, "judge_run": 3, "sft_run": 4, "sd": 1, "sg": 2}
PG_SERVER = PG_ADMIN.rsplit("/", 1)[0]

FOREIGN_SQLITE: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "other-program": ([
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
        "INSERT INTO notes (body) VALUES ('years of work'), ('more')",
        "CREATE TABLE tags (note_id INTEGER REFERENCES notes (id), tag TEXT)",
        "CREATE VIEW tagged AS SELECT body, tag FROM notes JOIN tags ON note_id = notes.id",
    ], ("holds 3 tables that are not Kindling's (notes, tagged, tags)", "no Kindling schema")),
    "wal-mode": ([  # SQLite itself would make a -wal and -shm beside it on a plain open
        "PRAGMA journal_mode=WAL",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT)",
        "INSERT INTO events (at) VALUES ('today')",
    ], ("holds 1 table that is not Kindling's (events)",)),
    "runs-table": ([
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, command TEXT)",
        "INSERT INTO runs (command) VALUES ('make all')",
    ], ("holds 1 table that is not Kindling's (runs)",)),
    "other-alembic": ([
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('ae1027a6acf')",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)",
        "INSERT INTO users (email) VALUES ('a@example.org')",
    ], ("(alembic_version, users)", "alembic_version is at ae1027a6acf")),
    "alembic-at-kindling-revision": ([  # another program whose revision ids look like ours
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('0003')",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)",
    ], ("(alembic_version, users)", "alembic_version is at 0003")),
}
PG_FOREIGN = ["CREATE TABLE inventory (id serial PRIMARY KEY, item text)",
              "INSERT INTO inventory (item) VALUES ('lamp'), ('desk')",
              "CREATE TABLE orders (id serial PRIMARY KEY, inventory_id int REFERENCES inventory)"]


@dataclass
class Place:
    """The working folder (the commands' cwd, holding the foreign files) and the databases."""

    root: Path
    files: dict[str, str]  # kind -> the file's SHA-256 when made
    pg_foreign: str
    pg_empty: str

    def sqlite(self, kind: str) -> Path:
        return self.root / f"{kind}.db"


def make_sqlite(path: Path, statements: list[str]) -> str:
    import sqlite3

    conn = sqlite3.connect(path)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def pg_database(prefix: str, statements: list[str]) -> Iterator[str]:
    """A throwaway database `kindling_foreign_<prefix>_*` holding what `statements` make (outside
    the `kindling_rel*` names the bad-input cases watch: they may run beside this one)."""
    name = f"kindling_foreign_{prefix}_{uuid.uuid4().hex[:8]}"
    with pg_admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
        yield url
    finally:
        engine.dispose()
        with pg_admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_tables(url: str) -> list[tuple[str, int]]:
    """Every table, view and sequence in the database's public schema, with its row count."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = conn.execute(text(
                "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE nspname = 'public' AND relkind IN ('r', 'v', 'S') ORDER BY relname"
            )).scalars().all()
            return [(n, conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() or 0)
                    for n in names]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    root = tmp_path_factory.mktemp("foreign")
    (root / "p_good.yaml").write_text("name: mine\nkind: detector\nrules: [规则一]\n")
    files = {kind: make_sqlite(root / f"{kind}.db", statements)
             for kind, (statements, _needles) in FOREIGN_SQLITE.items()}
    with pg_database("foreign", PG_FOREIGN) as foreign, pg_database("empty", []) as empty:
        yield Place(root, files, foreign, empty)


def tree(root: Path) -> dict[str, int]:
    """Every file under `root` with its size (a new store, -wal, export or model shows here)."""
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")}


def run(place: Place, url: str, command: str) -> tuple[list[str], str]:
    """Run a STORE_COMMANDS entry against `url`: its error lines and a transcript to show."""
    args = ["--db-url", url, *(a.format(root=place.root, paper=PAPER_DATA,
                                        configs=REPO / "configs", **IDS)
                               for a in STORE_COMMANDS[command])]
    env = {"KINDLING_DB_URL": None, "EDITOR": "true", "KINDLING_REL_KEY": "k"}
    with contextlib.chdir(place.root):
        result = invoke(args, env)
    shown = (f"kindling {' '.join(args)}\n--- exit {result.exit_code}\n--- stdout\n"
             f"{result.stdout}\n--- stderr\n{result.stderr}\n{result.exception!r}")
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert result.exit_code == 2, shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    return lines, shown


@pytest.mark.parametrize("command", STORE_COMMANDS)
def test_a_foreign_database_is_refused_and_left_as_it_was(place: Place, command: str) -> None:
    before = tree(place.root)
    for kind, (_statements, needles) in FOREIGN_SQLITE.items():
        path = place.sqlite(kind)
        url = f"sqlite:///{path}"
        (line,), shown = run(place, url, command)
        for needle in (url, *needles, "choose a new file or an empty database"):
            assert needle in line, f"{needle!r} not in the message\n{shown}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == place.files[kind], shown
    tables = pg_tables(place.pg_foreign)
    (line,), shown = run(place, place.pg_foreign, command)
    assert "holds 2 tables that are not Kindling's (inventory, orders)" in line, shown
    assert pg_tables(place.pg_foreign) == tables, shown
    assert tree(place.root) == before  # no -wal, -shm or -journal, no output, no new store


@pytest.mark.parametrize("command", READERS)
def test_a_read_only_command_creates_no_store(place: Place, command: str) -> None:
    before = tree(place.root)
    typo = place.root / "typo.db"
    (line,), shown = run(place, f"sqlite:///{typo}", command)
    for needle in (f"no Kindling store at {typo} (commands that only read never create one)",
                   "check the path in --db-url", "data import"):
        assert needle in line, f"{needle!r} not in the message\n{shown}"
    (place.root / "empty.db").touch()
    (line,), shown = run(place, f"sqlite:///{place.root / 'empty.db'}", command)
    assert "the database is empty" in line and "data import" in line, shown
    assert (place.root / "empty.db").stat().st_size == 0, shown
    (place.root / "empty.db").unlink()
    (line,), shown = run(place, place.pg_empty, command)
    assert f"no Kindling store at {place.pg_empty}: the database is empty" in line, shown
    assert pg_tables(place.pg_empty) == [], shown
    assert tree(place.root) == before


def test_two_first_imports_at_once_make_one_store(tmp_path: Path) -> None:
    """Both succeed (one builds the store, the other opens it); the data is there once."""
    from kindling.store.db import Store
    from kindling.store.models import DatasetRecord, Run
    from sqlalchemy import func, select

    url = f"sqlite:///{tmp_path / 'new.db'}"
    env = {k: v for k, v in os.environ.items() if k != "KINDLING_DB_URL"}
    argv = [sys.executable, "-m", "kindling", "--db-url", url, "data", "import", "--from",
            str(PAPER_DATA)]
    procs = [subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.db"]  # no temporary file left
    store = Store(url, create=False)
    try:
        with store.session() as s:
            runs = s.scalars(select(Run).where(Run.kind == "import")).all()
            records = s.scalar(select(func.count()).select_from(DatasetRecord))
    finally:
        store.close()
    assert len(runs) == 1, outs
    assert records == sum(runs[0].metrics["rows"].values())
