"""Paths a run recorded, found from wherever a command runs.

Runs record absolute paths (output folders, models, data). A store written by an older Kindling
may hold a relative one, relative to the folder that run was started in, which the store does
not record: it is looked for from the current folder, then beside a SQLite store's file (the
folder a project keeps its kindling.db in), and named in a clear error when neither holds it.
"""

from __future__ import annotations

import os
from pathlib import Path

from kindling.store.db import Store
from kindling.store.errors import RunRefError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def located(store: Store, recorded: str, what: str) -> str:
    """The absolute path of `recorded`, a path a run of `store` recorded.

    Args:
        store: The store the run is in.
        recorded: The path as recorded (absolute, or relative from an older Kindling).
        what: What the path is, for the message (e.g. "--model run:sft").

    Raises:
        RunRefError: a relative path found neither from the current folder nor beside the store.
    """
    if os.path.isabs(recorded):
        return recorded
    bases = search_bases(store)
    for base in bases:
        candidate = os.path.normpath(base / recorded)
        if os.path.exists(candidate):
            return candidate
    looked = " nor ".join(str(b) for b in bases)
    raise RunRefError(f"{what}: the run recorded its output folder as {recorded!r}, relative to "
                     f"the folder it ran in (an older Kindling), and it is not in {looked}; run "
                     "this command from that folder, or give the folder's path instead")


def search_bases(store: Store) -> list[Path]:
    """Where a relative recorded path is looked for: the current folder, then the folder of a
    SQLite store's file (when it is another)."""
    bases = [Path.cwd()]
    folder = _sqlite_folder(store.url)
    if folder is not None and folder != bases[0]:
        bases.append(folder)
    return bases


def _sqlite_folder(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        if parsed.query.get("mode") == "memory":
            return None
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(os.path.abspath(database)).parent
