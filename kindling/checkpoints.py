"""LangGraph checkpointers on the same backend as the store (SQLite file beside it, or Postgres)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url


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
async def open_checkpointer(store_url: str) -> AsyncIterator[BaseCheckpointSaver]:
    """Async checkpointer for the store's backend, tables created if missing."""
    where = checkpoint_location(store_url)
    if where.startswith("postgresql://"):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(where) as saver:
            await saver.setup()
            yield saver
    else:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(where) as saver:
            await saver.setup()
            yield saver
