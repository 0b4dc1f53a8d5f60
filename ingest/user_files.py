"""Read a team's own data file (JSON Lines, CSV or parquet) as one dataset of a given shape.

Shapes and their fields (a field may also go by the alias after the slash):
  labelled  query, response, label (0/1)     like the paper's evaluation set
  pairs     query/prompt, chosen, rejected   like its reward-model pairs
  prompts   query/prompt                     like its GRPO and random queries
  sft       query/instruction, response/output
  responses query, response, label (optional)  texts to judge (`kindling curate --file`)

As with the paper's files, the whole file is read and checked before anything is written (one line
or parquet batch at a time, within the data files' bound); an error names the file, the line
(JSON Lines, CSV) or row (parquet) and the field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kindling.ingest.data_files import (
    file_sha256,
    iter_text_lines,
    parquet_batches,
)
from kindling.ingest.readers import Loc
from kindling.store.errors import DataImportError
from kindling.store.import_items import Item, ParsedFolder

SHAPES: dict[str, dict[str, tuple[str, ...]]] = {
    "labelled": {"query": ("query",), "response": ("response",), "label": ("label",)},
    "pairs": {"query": ("query", "prompt"), "chosen": ("chosen",), "rejected": ("rejected",)},
    "prompts": {"query": ("query", "prompt")},
    "sft": {"query": ("query", "instruction"), "response": ("response", "output")},
    "responses": {"query": ("query",), "response": ("response",), "label": ("label",)},
}
PAPER_DATASETS = ("sft", "rm_train", "rm_test", "grpo_train", "grpo_test", "evaluation_set",
                  "random_query")
FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def _records(path: Path) -> Iterator[tuple[Loc, Any]]:
    """(location, record) for each row, read one line (or parquet batch) at a time."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataImportError(path, f"unknown file type {path.suffix!r}: use .jsonl, .csv or "
                              ".parquet")
    if kind == "parquet":
        for first, records in parquet_batches(path):
            for row, record in enumerate(records, start=first):
                yield Loc(path, None, row), record
    elif kind == "csv":
        reader = csv.DictReader(text for _number, text in iter_text_lines(path))
        for cells in reader:
            yield Loc(path, reader.line_num), cells
    else:
        yield from _jsonl_records(path)


def _jsonl_records(path: Path) -> Iterator[tuple[Loc, Any]]:
    for number, raw in iter_text_lines(path):
        if raw.strip():
            try:
                yield Loc(path, number), json.loads(raw)
            except json.JSONDecodeError as exc:
                raise Loc(path, number).error(f"invalid JSON: {exc.msg} (column {exc.colno})"
                                              ) from exc


def _field(loc: Loc, record: Any, names: tuple[str, ...]) -> Any:
    if not isinstance(record, dict):
        raise loc.error(f"expected a JSON object, got {type(record).__name__}")
    for name in names:
        if name in record and record[name] is not None:
            return record[name]
    raise loc.error("missing field", "/".join(names))


def _label(loc: Loc, value: Any) -> int:
    if isinstance(value, str) and value.strip() in ("0", "1"):  # CSV cells are text
        value = int(value.strip())
    if type(value) is not int or value not in (0, 1):
        raise loc.error(f"expected 0 or 1, got {value!r}", "label")
    return value


def _item(loc: Loc, record: Any, shape: str, dataset: str) -> Item:
    names = SHAPES[shape]
    line = loc.line if loc.line is not None else loc.row or 0
    query = loc.text(_field(loc, record, names["query"]), names["query"][0])
    if shape == "pairs":
        chosen = loc.text(_field(loc, record, names["chosen"]), "chosen")
        rejected = loc.text(_field(loc, record, names["rejected"]), "rejected")
        return Item(dataset, line, query, response=chosen, rejected=rejected)
    if shape == "prompts":
        return Item(dataset, line, query)
    response = loc.text(_field(loc, record, names["response"]), names["response"][0])
    label = None
    if shape == "labelled" or (shape == "responses" and isinstance(record, dict)
                               and record.get("label") not in (None, "")):
        label = _label(loc, _field(loc, record, names["label"]))
    return Item(dataset, line, query, response=response, label=label)


def read_user_file(path: Path, shape: str, dataset: str) -> ParsedFolder:
    """Every row of `path` as an item of `dataset`, checked.

    Raises:
        DataImportError: an unknown shape or file type, a paper dataset's name, a bad row, an
            empty file, or a labelled (query, response) given two labels.
    """
    if shape not in SHAPES:
        raise DataImportError(path, f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
    if dataset in PAPER_DATASETS:
        raise DataImportError(path, f"--dataset {dataset}: the paper's data uses that name; "
                              "pick another (e.g. my_" + dataset + ")")
    if path.is_dir() or not path.exists():  # a device or FIFO is refused when it is opened
        raise DataImportError(path, "is a folder" if path.is_dir() else "no such file")
    items: list[Item] = []
    labels: dict[tuple[str, str], Item] = {}
    for loc, record in _records(path):
        item = _item(loc, record, shape, dataset)
        if item.label is not None:
            first = labels.setdefault((item.query, item.response or ""), item)
            if first.label != item.label:
                raise loc.error(f"label {item.label} contradicts label {first.label} at "
                                f"{'line' if loc.line else 'row'} {first.line} for the same "
                                "query and response", "label")
        items.append(item)
    if not items:
        raise DataImportError(path, "the file has no rows")
    parsed = ParsedFolder(path.parent, {dataset: items}, {path.name: file_sha256(path)},
                          {dataset: path})
    if FORMATS[path.suffix.lower()] != "parquet":
        parsed.line_numbered.add(dataset)
    return parsed
