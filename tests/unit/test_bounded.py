"""Bounded reads: the read itself stops one byte past the bound; devices and FIFOs are refused
without blocking; data readers stream and stop cleanly past theirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kindling.ingest.data_files import iter_text_lines, parquet_batches, read_text
from kindling.store.bounded import (
    DATA_LIMIT_ENV,
    MAX_DATA_BYTES,
    data_limit,
    describe_size,
    iter_bounded_lines,
    read_bounded,
)
from kindling.store.errors import DataImportError, UserError
from kindling.store.yaml_io import read_yaml_mapping


def test_a_file_at_the_bound_is_read_one_byte_past_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"x" * 100)
    assert read_bounded(path, 100, "config") == b"x" * 100
    with pytest.raises(UserError, match=r"c\.yaml: larger than 99 bytes, the bound on a config"):
        read_bounded(path, 99, "config")


def test_a_device_is_refused_without_reading_it() -> None:
    with pytest.raises(UserError, match="/dev/zero: is a device; a config must be a regular file"):
        read_bounded("/dev/zero", 1 << 30, "config")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    with pytest.raises(UserError, match=r"is a FIFO \(named pipe\); a config must be"):
        read_yaml_mapping(fifo, "config")


def test_a_folder_is_still_a_folder(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_bounded(tmp_path, 10, "config")


def test_lines_stream_and_stop_past_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"a\n" * 10 + b"b" * 1000)  # one endless last line
    lines = iter_bounded_lines(path, 30, "data file")
    assert [next(lines) for _ in range(10)] == [b"a\n"] * 10
    with pytest.raises(UserError, match="larger than 30 bytes"):
        next(lines)  # the long line is read for at most the bytes left, then refused


def test_text_lines_name_the_line_of_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes("\ufeff一\n二\n".encode() + b"\xff\n")
    lines = iter_text_lines(path)
    assert next(lines) == (1, "一\n") and next(lines) == (2, "二\n")
    with pytest.raises(DataImportError, match=r"d\.jsonl line 3: invalid UTF-8 at byte offset 11"):
        next(lines)


def test_the_data_bound_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    assert data_limit() == MAX_DATA_BYTES and describe_size(MAX_DATA_BYTES) == "2 GiB"
    monkeypatch.setenv(DATA_LIMIT_ENV, "8")
    path = tmp_path / "d.json"
    path.write_text("[1, 2, 3, 4]")
    with pytest.raises(DataImportError, match="larger than 8 bytes.*KINDLING_MAX_DATA_BYTES"):
        read_text(path)
    monkeypatch.setenv(DATA_LIMIT_ENV, "-1")
    with pytest.raises(UserError, match="expected a positive number of bytes"):
        data_limit()


def test_a_parquet_file_that_unpacks_past_the_bound_stops(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"query": ["x" * 10_000] * 200}), path)  # compresses to little
    assert path.stat().st_size < 20_000
    monkeypatch.setenv(DATA_LIMIT_ENV, "100000")
    with pytest.raises(DataImportError, match=r"larger than 97\.7 KiB, the bound on a data file "
                                              r"\(decoded\)"):
        list(parquet_batches(path))
    monkeypatch.delenv(DATA_LIMIT_ENV)
    rows = [r for _first, batch in parquet_batches(path, ("query",), ()) for r in batch]
    assert len(rows) == 200 and rows[0] == {"query": "x" * 10_000}
