"""Dialect-aware INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert rows, silently skipping those that violate a unique constraint."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(model).on_conflict_do_nothing(), rows)
