"""Where a store is, as messages name it, and what to say when a read-only command finds none.

A SQLite store is named by its absolute file path (a relative URL is read from the current
folder, so the path says which folder was looked in); any other store by its URL with the
password hidden.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_STORE_FILE = "kindling.db"
"""The SQLite file every command uses when given no --db-url or KINDLING_DB_URL: in the current
folder (so `kindling quickstart` and `kindling data import` leave it where they were run)."""
READERS_MAKE_NONE = "commands that only read never create one"
MAKE_STORE = ("make one there with `kindling data import --from DIR --db-url {url}` (or "
              "`kindling quickstart --db-url {url}`)")


def shown_url(url: str) -> str:
    """The URL as messages show it: any password hidden."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    return parsed.render_as_string(hide_password=True) if parsed.password else url


def sqlite_file(parsed: URL) -> Path | None:
    """The file a SQLite URL names (None: an in-memory database, or not SQLite)."""
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ":memory:"
    if parsed.query.get("uri") == "true":
        if not database.startswith("file:") or parsed.query.get("mode") == "memory":
            return None
        database = unquote(database.removeprefix("file:"))
    if database in ("", ":memory:"):
        return None
    return Path(database)


def absolute(path: Path) -> str:
    """The path made absolute against the current folder (`..` folded, links kept)."""
    return os.path.abspath(path)


def store_place(url: str) -> str:
    """The store as messages name it: a SQLite file's absolute path, else the URL with any
    password hidden."""
    try:
        path = sqlite_file(make_url(url))
    except ArgumentError:
        return url
    return absolute(path) if path is not None else shown_url(url)


def missing_store_message(url: str, path: Path) -> str:
    """A read-only command given a SQLite file that does not exist: the folder is the wrong one,
    or the path has a typo."""
    head = f"no Kindling store at {absolute(path)} ({READERS_MAKE_NONE})"
    if Path(path) == Path(DEFAULT_STORE_FILE):
        return (f"{head}: run this in the folder where you ran `kindling quickstart` or "
                f"`kindling data import` (they keep the store in {DEFAULT_STORE_FILE} in the "
                "folder they run in), or pass --db-url sqlite:///PATH/TO/kindling.db; "
                "`kindling data import --from DIR` makes a store here")
    return (f"{head}: check the path in --db-url or KINDLING_DB_URL (`kindling quickstart` and "
            f"`kindling data import` keep the store in {DEFAULT_STORE_FILE} in the folder they "
            f"run in, unless given --db-url), or {MAKE_STORE.format(url=url)}")


def empty_store_message(url: str) -> str:
    """A read-only command given an empty database (no tables at all)."""
    return (f"no Kindling store at {store_place(url)}: the database is empty "
            f"({READERS_MAKE_NONE}); {MAKE_STORE.format(url=url)}")
