"""Every file Kindling reads has a size bound, and the read itself stops there.

`stat()` is not enough: a device such as /dev/zero reports size 0 and never ends, a FIFO has no
size and opening one blocks until a writer comes. So a file is opened without blocking, refused
unless it is a regular file, and read for at most `limit + 1` bytes; one byte past the bound is a
one-line error naming the file and the bound.

Bounds: configs, principle sets and prompt templates (`MAX_CONFIG_BYTES`, 1 MiB); the JSON files
Kindling writes and reads back (`MAX_STATE_BYTES`, 64 MiB); data files (`data_limit()`: 2 GiB,
or `KINDLING_MAX_DATA_BYTES`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from kindling.store.errors import UserError

MiB = 1 << 20
GiB = 1 << 30
MAX_CONFIG_BYTES = 1 * MiB
"""Configs, principle sets, prompt templates."""
MAX_STATE_BYTES = 64 * MiB
"""JSON files Kindling writes and reads back (output manifests, experiment state, adapter configs)."""
MAX_DATA_BYTES = 2 * GiB
"""Data files (JSON, JSON Lines, CSV, parquet, items to judge), unless the environment says."""
DATA_LIMIT_ENV = "KINDLING_MAX_DATA_BYTES"

ErrorFactory = Callable[[str], Exception]
"""Builds the error to raise from a message that does not yet name the file."""


def named(path: Path | str, error: type[UserError] = UserError) -> ErrorFactory:
    """An `ErrorFactory` whose messages start with `path: ` (as every UserError's does)."""
    return lambda detail: error(f"{path}: {detail}")


def describe_size(n: int) -> str:
    """A byte count as people write it: `1 MiB`, `2 GiB`, `1.5 MiB`, `300 bytes`."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def data_limit() -> int:
    """The bound on a data file: `KINDLING_MAX_DATA_BYTES` when set, else `MAX_DATA_BYTES`.

    Raises:
        UserError: the variable is set to something other than a positive whole number.
    """
    raw = os.environ.get(DATA_LIMIT_ENV, "").strip()
    if not raw:
        return MAX_DATA_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise UserError(f"{DATA_LIMIT_ENV}={raw!r}: expected a positive number of bytes")
    return int(raw)


def too_large(limit: int, what: str) -> str:
    """The message for a file past its bound (the caller puts the file's name in front)."""
    hint = f"; set {DATA_LIMIT_ENV} to raise it" if what.startswith("data") else ""
    return f"larger than {describe_size(limit)}, the bound on a {what} (stopped reading there){hint}"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"  # pragma: no cover - doors, whiteouts


@contextmanager
def open_regular(path: Path | str, what: str, error: ErrorFactory) -> Iterator[BinaryIO]:
    """`path` opened for binary reading, if it is a regular file.

    Opened without blocking (a FIFO with no writer would hang), then checked on the open file
    itself (no gap between the check and the read).

    Raises:
        IsADirectoryError: the path is a folder (as `open` would raise it).
        OSError: it cannot be opened (missing, no permission).
        Exception: from `error`, for a device, FIFO or socket.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise error(f"is {_kind(mode)}; a {what} must be a regular file")
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_bounded(path: Path | str, limit: int, what: str,
                 error: ErrorFactory | None = None) -> bytes:
    """A regular file's bytes, reading at most `limit + 1` of them.

    Args:
        path: the file.
        limit: the most bytes the file may hold.
        what: what the file is, for messages ("config", "principle set", "data file").
        error: builds the error for a non-regular or oversized file from a message without the
            file's name (default: a UserError naming the file).

    Raises:
        OSError: the file cannot be opened (IsADirectoryError for a folder).
        Exception: from `error`: a device, FIFO or socket, or more than `limit` bytes.
    """
    error = error or named(path)
    with open_regular(path, what, error) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise error(too_large(limit, what))
    return data


def iter_bounded_lines(path: Path | str, limit: int, what: str,
                       error: ErrorFactory | None = None) -> Iterator[bytes]:
    """A regular file's lines (with their `\\n`), streamed, stopping once past `limit` bytes.

    No line is read whole if it would cross the bound, so one endless line costs `limit` bytes.

    Raises:
        OSError, Exception: as `read_bounded`, the size error when the bound is passed.
    """
    error = error or named(path)
    seen = 0
    with open_regular(path, what, error) as fh:
        while line := fh.readline(limit - seen + 1):
            seen += len(line)
            if seen > limit:
                raise error(too_large(limit, what))
            yield line


def check_size(path: Path | str, handle: BinaryIO, limit: int, what: str,
               error: ErrorFactory | None = None) -> int:
    """The size of an open regular file (from `open_regular`), refused past `limit`; for
    formats read by seeking (parquet), where the size of a regular file is what gets read."""
    size = os.fstat(handle.fileno()).st_size
    if size > limit:
        raise (error or named(path))(too_large(limit, what))
    return size
