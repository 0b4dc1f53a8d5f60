"""LangGraph checkpointers on the same backend as the store (SQLite file beside it, or Postgres)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kindling.store.db import Store


def checkpoint_location(store_url: str) -> str:
    """Where checkpoints live: `<db>.langgraph.sqlite` beside a SQLite store, the same DB on Postgres."""
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        db = url.database or ":memory:"
        if db == ":memory:":
            return ":memory:"
        return str(Path(db).with_suffix("").as_posix()) + ".langgraph.sqlite"
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def open_checkpointer(store_url: str, *,
                            setup: bool = True) -> AsyncIterator[BaseCheckpointSaver]:
    """Async checkpointer for the store's backend, tables created if missing.

    With `setup` False (readers: replay, the studio) nothing is created or configured; the
    caller checks `checkpoints_exist` first.
    """
    where = checkpoint_location(store_url)
    if where.startswith("postgresql://"):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(where) as saver:
            if setup:
                await _setup_once(where, saver)
            yield saver
    else:
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with aiosqlite.connect(where) as conn:
            sqlite_saver = AsyncSqliteSaver(conn)
            if setup:
                # WAL + NORMAL: a commit per step without an fsync each time (as the store does).
                await conn.execute("PRAGMA journal_mode=WAL")
                await conn.execute("PRAGMA synchronous=NORMAL")
                await sqlite_saver.setup()
            yield sqlite_saver


def unfinished(snapshot: Any) -> bool:
    """Whether a thread still has work: any task at its last checkpoint, including one whose
    writes were saved before a kill but whose step's checkpoint was not (LangGraph leaves such a
    task out of `snapshot.next`, so `next` alone would call the thread finished)."""
    return bool(snapshot.tasks)


def checkpoints_exist(store: Store) -> bool:
    """Whether any graph ever wrote checkpoints for this store (without creating anything)."""
    where = checkpoint_location(store.url)
    if not where.startswith("postgresql://"):
        return where != ":memory:" and Path(where).is_file()
    with store.engine.connect() as conn:
        return bool(conn.execute(text("SELECT to_regclass('checkpoints') IS NOT NULL")).scalar())


async def _setup_once(conn_string: str, saver: BaseCheckpointSaver) -> None:
    """Create LangGraph's tables while holding an advisory lock, so concurrent workers don't race.

    The lock is polled with `pg_try_advisory_lock`, never waited on inside a statement: LangGraph's
    setup runs CREATE INDEX CONCURRENTLY, which waits for every running statement to finish and
    would deadlock against a blocked `pg_advisory_lock` call of another worker.
    """
    import asyncio

    import psycopg

    async with await psycopg.AsyncConnection.connect(conn_string, autocommit=True) as conn:
        for _ in range(600):
            row = await (await conn.execute("SELECT pg_try_advisory_lock(727275)")).fetchone()
            if row and row[0]:
                break
            await asyncio.sleep(0.1)
        else:
            raise TimeoutError("another worker held the checkpoint-setup lock for 60 s")
        try:
            await saver.setup()  # type: ignore[attr-defined]
        finally:
            await conn.execute("SELECT pg_advisory_unlock(727275)")
