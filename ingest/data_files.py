"""Reading data files within their bound: whole (JSON arrays), line by line (JSON Lines, CSV,
plain text) or batch by batch (parquet), as strict UTF-8, with errors naming file and line.

Every reader opens only regular files and stops past `store.bounded.data_limit()` bytes (2 GiB
unless KINDLING_MAX_DATA_BYTES says otherwise); line and batch readers never hold the whole
file, so a file near the bound is not also held as one string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kindling.store.bounded import (
    check_size,
    data_limit,
    iter_bounded_lines,
    open_regular,
    read_bounded,
)
from kindling.store.bounded import too_large as too_large_message
from kindling.store.errors import DataImportError

WHAT = "data file"
PARQUET_BATCH_ROWS = 1024


def _error(path: Path) -> Any:
    return lambda message: DataImportError(path, message)


def _cannot_read(path: Path, exc: OSError) -> DataImportError:
    if isinstance(exc, IsADirectoryError):
        return DataImportError(path, "is a folder, expected a data file")
    return DataImportError(path, f"cannot read file: {exc.strerror or exc}")


def file_sha256(path: Path) -> str:
    """SHA-256 of a data file's bytes, as hex (streamed; the file's bound applies).

    Raises:
        DataImportError: the file cannot be read, is not a regular file, or is past the bound.
    """
    digest, limit, seen = hashlib.sha256(), data_limit(), 0
    try:
        with open_regular(path, WHAT, _error(path)) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                seen += len(block)
                if seen > limit:
                    raise DataImportError(path, too_large_message(limit, WHAT))
                digest.update(block)
    except OSError as exc:
        raise _cannot_read(path, exc) from exc
    return digest.hexdigest()


def _decode(raw: bytes, path: Path, line: int, offset: int, *, at_end: bool) -> str:
    """Strict UTF-8; bad bytes are reported with their line and their offset in the file."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line += raw.count(b"\n", 0, exc.start)
        if at_end and exc.end == len(raw) and exc.reason == "unexpected end of data":
            raise DataImportError(path, "file ends inside a UTF-8 character (truncated?)",
                                  line=line) from exc
        raise DataImportError(path, f"invalid UTF-8 at byte offset {offset + exc.start}: "
                              f"{exc.reason}", line=line) from exc


def read_text(path: Path) -> str:
    """A whole data file's text as strict UTF-8 (a leading BOM is dropped); for formats that
    need all of it at once (a JSON array). Bad bytes give their line.

    Raises:
        DataImportError: unreadable, not a regular file, past the bound, or not UTF-8.
    """
    try:
        raw = read_bounded(path, data_limit(), WHAT, _error(path))
    except OSError as exc:
        raise _cannot_read(path, exc) from exc
    return _decode(raw, path, 1, 0, at_end=True).removeprefix("\ufeff")


def iter_text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line of a data file, read one line at a time; the text
    keeps its line ending (CSV needs it) and the first line loses a leading BOM.

    Raises:
        DataImportError: unreadable, not a regular file, past the bound (raised when reading
            gets there: the lines before it were yielded), or a line that is not UTF-8.
    """
    offset = 0
    lines = iter_bounded_lines(path, data_limit(), WHAT, _error(path))
    try:
        for number, raw in enumerate(lines, start=1):
            text = _decode(raw, path, number, offset, at_end=not raw.endswith(b"\n"))
            offset += len(raw)
            yield number, text.removeprefix("\ufeff") if number == 1 else text
    except OSError as exc:
        raise _cannot_read(path, exc) from exc


def parquet_batches(path: Path, required: tuple[str, ...] = (),
                    optional: tuple[str, ...] | None = None
                    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(first row number, rows as dicts) per batch of a parquet file. The file's size and its
    data's size once decoded are both held to the bound, so a small file that unpacks to far
    more stops cleanly too.

    Args:
        path: the file.
        required: columns that must be there (a missing one is an error naming it).
        optional: columns read when present; None: every column.

    Raises:
        DataImportError: unreadable, not a regular file, not parquet, a missing column, past
            the bound, or a text column that is not UTF-8 (naming the column and rows).
    """
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    limit = data_limit()
    try:
        with open_regular(path, WHAT, _error(path)) as fh:
            check_size(path, fh, limit, WHAT, _error(path))
            try:
                parquet = pq.ParquetFile(fh)
                columns = _columns(path, parquet.schema_arrow.names, required, optional)
                _check_unpacked_size(path, parquet.metadata, limit)
                decoded, first = 0, 1
                for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
                    decoded += batch.nbytes
                    if decoded > limit:
                        raise DataImportError(path, too_large_message(limit, WHAT + " (decoded)"))
                    yield first, _batch_rows(path, batch, first)
                    first += batch.num_rows
            except (pa.ArrowException, OSError) as exc:
                raise DataImportError(path, f"unreadable parquet: {exc}") from exc
    except OSError as exc:
        raise _cannot_read(path, exc) from exc


def _columns(path: Path, names: list[str], required: tuple[str, ...],
             optional: tuple[str, ...] | None) -> list[str] | None:
    missing = [c for c in required if c not in names]
    if missing:
        raise DataImportError(path, "missing column", field=missing[0])
    if optional is None:
        return None
    return [*required, *(c for c in optional if c in names)]


def _check_unpacked_size(path: Path, metadata: Any, limit: int) -> None:
    """Refuse up front what the file's own metadata says is past the bound once decoded."""
    total = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if total > limit:
        raise DataImportError(path, too_large_message(limit, WHAT + " (decoded)"))


def _batch_rows(path: Path, batch: Any, first: int) -> list[dict[str, Any]]:
    """A record batch as one dict per row; text that is not UTF-8 names its column and rows."""
    columns: dict[str, list[Any]] = {}
    for name in batch.schema.names:
        try:
            columns[name] = batch.column(name).to_pylist()
        except UnicodeDecodeError as exc:
            raise DataImportError(path, f"rows {first}-{first + batch.num_rows - 1}: text that "
                                  f"is not UTF-8 ({exc.reason})", field=name) from exc
    return [{name: values[i] for name, values in columns.items()}
            for i in range(batch.num_rows)]
