"""SQLite store files: checked before anything touches them, and made new atomically.

An existing file is read through a read-only connection first, so another program's database is
refused before Kindling's engine switches it to WAL or writes a table. A new store is built in a
temporary file beside the target and published with `os.link`, which never replaces a file: a
failed build leaves nothing behind, and of two first-time opens at once one publishes its store
and the other opens that one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from kindling.store.errors import StoreError
from kindling.store.ownership import check_owned, read_sqlite_file
from kindling.store.places import missing_store_message
from sqlalchemy.engine import URL

SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database."""


def is_uri(parsed: URL) -> bool:
    """Whether the URL hands SQLite a `file:` URI (its own open mode: Kindling makes no file)."""
    return parsed.query.get("uri") == "true"


def prepare_sqlite_file(url: str, parsed: URL, path: Path, *, create: bool,
                        build: Callable[[URL], None]) -> None:
    """Make sure `path` is Kindling's store before an engine opens it.

    A missing file is built by `build` (given a temporary file's URL) and published when
    `create`, else refused. An existing file must hold Kindling's schema, or be empty and
    `create`.

    Raises:
        StoreError: a missing file for a read-only command, another program's database, or an
            empty one for a read-only command.
    """
    if not path.exists():
        if not create:
            raise StoreError(missing_store_message(url, path))
        if is_uri(parsed):
            return
        publish_new_store(path, build)
    check_owned(url, read_sqlite_file(path), create=create)


def publish_new_store(path: Path, build: Callable[[URL], None]) -> None:
    """Build a store in a temporary file beside `path`, then link it to `path` unless a file
    appeared there meanwhile (another process's store: that one is kept). The temporary file
    is removed whatever happens.
    """
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        build(URL.create("sqlite", database=str(tmp)))
        _link_once(tmp, path)
    finally:
        for name in (tmp, *(Path(f"{tmp}{suffix}") for suffix in SIDE_FILES)):
            name.unlink(missing_ok=True)


def _link_once(tmp: Path, path: Path) -> None:
    """Publish `tmp` as `path` without replacing a file there (`os.link` fails if one exists).

    Where the file system has no hard links, a rename after an existence check stands in
    (two processes racing there could both publish; the later one's empty store wins).
    """
    try:
        os.link(tmp, path)
    except FileExistsError:
        return
    except OSError:
        if not path.exists():
            os.rename(tmp, path)
