"""Shared fixtures: stores on SQLite (temp file) and PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from store.db import Store

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAPER_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "igniting"


@pytest.fixture
def paper_data() -> Path:
    assert PAPER_DATA.is_dir(), f"paper data not found at {PAPER_DATA}"
    return PAPER_DATA


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kindling.db'}"


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
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
