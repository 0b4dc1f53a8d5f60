"""Shared fixtures: stores on SQLite (temp file) and PostgreSQL (a fresh schema per test), and the
paper data imported once a session for the tests that only read it."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from kindling.store.db import Store
from sqlalchemy import create_engine, text

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAPER_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "igniting"


@pytest.fixture(autouse=True, scope="session")
def session_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Kindling's caches (the offline server's kept prompt states) go to a folder of the test
    session's own, shared by its tests, never the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(folder))
    yield folder
    patch.undo()


@pytest.fixture
def paper_data() -> Path:
    assert PAPER_DATA.is_dir(), f"paper data not found at {PAPER_DATA}"
    return PAPER_DATA


@dataclass(frozen=True)
class PaperDB:
    """A SQLite store holding one import of the paper data, made once a session (see `paper_db`)."""

    path: Path
    import_run: int

    def copy_to(self, dest: Path) -> int:
        """Write a copy of the store to the new file `dest` (what a fresh import there would
        hold); returns the import run's id."""
        copy_sqlite(self.path, dest)
        return self.import_run


def copy_sqlite(src: Path, dest: Path) -> None:
    """Copy a SQLite database with sqlite3's backup API (consistent whatever its WAL holds)."""
    assert not dest.exists(), f"{dest} exists: a copy goes to a new file"
    with closing(sqlite3.connect(src)) as source, closing(sqlite3.connect(dest)) as target:
        source.backup(target)


@pytest.fixture(scope="session")
def paper_db(tmp_path_factory: pytest.TempPathFactory) -> PaperDB:
    """The paper data imported once a session; a test that only needs a store holding it copies
    this one (`paper_db.copy_to(path)`, milliseconds) instead of importing again (seconds).
    Tests of the import itself import for real."""
    from kindling.ingest.imports import import_paper_data

    assert PAPER_DATA.is_dir(), f"paper data not found at {PAPER_DATA}"
    path = tmp_path_factory.mktemp("paper_db") / "kindling.db"
    store = Store(f"sqlite:///{path}")
    try:
        run_id = import_paper_data(store, PAPER_DATA, code_version="test").run_id
    finally:
        store.close()
    assert run_id is not None
    return PaperDB(path, run_id)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kindling.db'}"


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.close()


@pytest.fixture
def paper_store(tmp_path: Path, paper_db: PaperDB) -> Iterator[Store]:
    """The store at `sqlite_url`'s path holding the paper data (a copy of `paper_db`); a test
    takes this one or `sqlite_store`, not both."""
    paper_db.copy_to(tmp_path / "kindling.db")
    store = Store(f"sqlite:///{tmp_path / 'kindling.db'}")
    yield store
    store.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database on 127.0.0.1:5432, dropped after the test."""
    name = f"kindling_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    store = Store(pg_url)
    yield store
    store.close()
