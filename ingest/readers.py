"""Parse and validate the paper's data files (upstream `dataset/` layout) into plain items.

Nothing here touches the store: every file is read and checked completely first, so a broken file
stops an import before anything is written. Errors name the file, the line (or parquet row) and the
field, e.g. ``.../reward_model/reward_data_train.json line 412 (row 37): field chosen.value: empty
text``.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.ingest.data_files import (
    file_sha256,
    iter_text_lines,
    parquet_batches,
    read_text,
)
from kindling.store.errors import DataImportError
from kindling.store.import_items import Item, ParsedFolder
from kindling.store.text_checks import lone_surrogate

__all__ = ["LAYOUT", "MAX_TEXT_CHARS", "DataImportError", "Item", "Loc", "ParsedFolder",
           "file_sha256", "iter_text_lines", "read_folder", "read_text"]

MAX_TEXT_CHARS = 20_000
_WS = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True)
class Loc:
    """Where a value sits in a file; builds errors and checks texts."""

    path: Path
    line: int | None = None
    row: int | None = None

    def error(self, message: str, field: str | None = None) -> DataImportError:
        return DataImportError(self.path, message, line=self.line, row=self.row, field=field)

    def get(self, obj: Any, key: str, field: str | None = None) -> Any:
        """`obj[key]`, with errors for a non-object `obj` or a missing key."""
        if not isinstance(obj, dict):
            raise self.error(f"expected a JSON object, got {type(obj).__name__}", field)
        if key not in obj:
            raise self.error("missing field", field or key)
        return obj[key]

    def text(self, value: Any, field: str) -> str:
        """A non-empty string of sane length without NUL characters."""
        if not isinstance(value, str):
            raise self.error(f"expected a string, got {type(value).__name__}", field)
        if not value.strip():
            raise self.error("empty text", field)
        if len(value) > MAX_TEXT_CHARS:
            raise self.error(
                f"text too long: {len(value)} characters (max {MAX_TEXT_CHARS})", field)
        if "\x00" in value:
            raise self.error("text contains a NUL character", field)
        if bad := lone_surrogate(value):
            raise self.error(f"not valid Unicode: a lone surrogate {bad} (a JSON escape such as "
                             "\\ud800 with no pair)", field)
        return value


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def iter_json_array(path: Path, text: str) -> Iterator[tuple[Loc, Any]]:
    """Yield (location, element) for each element of a top-level JSON array, with its start line."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def loc_at(pos: int, row: int | None = None) -> Loc:
        return Loc(path, bisect.bisect_left(newlines, pos) + 1, row)

    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise loc_at(pos).error("expected a JSON array")
    pos = _skip_ws(text, pos + 1)
    row = 0
    while pos < len(text) and text[pos] != "]":
        row += 1
        start = pos
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataImportError(path, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                  line=exc.lineno) from exc
        yield loc_at(start, row), obj
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        elif pos < len(text) and text[pos] != "]":
            raise loc_at(pos).error("invalid JSON: expected ',' or ']' after an element")
    if pos >= len(text):
        raise loc_at(len(text)).error("invalid JSON: file ends inside the array (truncated?)")
    end = _skip_ws(text, pos + 1)
    if end != len(text):
        raise loc_at(end).error("invalid JSON: extra data after the array")


def read_sft(path: Path, dataset: str) -> list[Item]:
    """Alpaca rows `{instruction, input, output}`; the query is instruction (+ newline + input)."""
    items = []
    for loc, obj in iter_json_array(path, read_text(path)):
        query = loc.text(loc.get(obj, "instruction"), "instruction")
        extra_input = obj.get("input")
        if extra_input is not None and not isinstance(extra_input, str):
            raise loc.error(f"expected a string, got {type(extra_input).__name__}", "input")
        if extra_input and extra_input.strip():
            query = loc.text(f"{query}\n{extra_input}", "input")
        output = loc.text(loc.get(obj, "output"), "output")
        items.append(Item(dataset, loc.row or 0, query, response=output))
    return items


def read_reward(path: Path, dataset: str) -> list[Item]:
    """Rows `{conversations: [{from: human, value}], chosen: {value}, rejected: {value}}`."""
    items = []
    for loc, obj in iter_json_array(path, read_text(path)):
        turns = loc.get(obj, "conversations")
        if not isinstance(turns, list) or not turns:
            raise loc.error("expected a non-empty list of turns", "conversations")
        human = [i for i, t in enumerate(turns) if isinstance(t, dict) and t.get("from") == "human"]
        if not human:
            raise loc.error("no turn from 'human'", "conversations")
        turn = f"conversations[{human[-1]}].value"
        query = loc.text(loc.get(turns[human[-1]], "value", turn), turn)
        chosen = loc.text(loc.get(loc.get(obj, "chosen"), "value", "chosen.value"), "chosen.value")
        rejected = loc.text(
            loc.get(loc.get(obj, "rejected"), "value", "rejected.value"), "rejected.value"
        )
        items.append(Item(dataset, loc.row or 0, query, response=chosen, rejected=rejected))
    return items


def read_evaluation(path: Path, dataset: str) -> list[Item]:
    """JSON Lines `{query, response, label}` (label 1 good, 0 not); blank lines are skipped."""
    items: list[Item] = []
    seen: dict[tuple[str, str], Item] = {}
    for number, raw in iter_text_lines(path):
        if not raw.strip():
            continue
        loc = Loc(path, number)
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise loc.error(f"invalid JSON: {exc.msg} (column {exc.colno})") from exc
        query = loc.text(loc.get(obj, "query"), "query")
        response = loc.text(loc.get(obj, "response"), "response")
        label = loc.get(obj, "label")
        if type(label) is not int or label not in (0, 1):
            raise loc.error(f"expected 0 or 1, got {label!r}", "label")
        item = Item(dataset, number, query, response=response, label=label)
        first = seen.setdefault((query, response), item)
        if first.label != label:
            raise loc.error(f"label {label} contradicts label {first.label} at line {first.line} "
                            "for the same query and response", "label")
        items.append(item)
    return items


def read_lines(path: Path, dataset: str) -> list[Item]:
    """One query per line (line endings dropped, texts otherwise kept); blank lines are skipped."""
    items = []
    for number, raw in iter_text_lines(path):
        if raw.strip():
            text = raw.removesuffix("\n").rstrip("\r")
            items.append(Item(dataset, number, Loc(path, number).text(text, "query")))
    return items


def read_grpo(path: Path, dataset: str) -> list[Item]:
    """verl parquet: `prompt` is a list of `{role, content}`; the last user message is the query."""
    items = []
    for first, records in parquet_batches(path, ("prompt",), ("data_source", "extra_info")):
        for row, record in enumerate(records, start=first):
            loc = Loc(path, row=row)
            items.append(Item(dataset, row, _grpo_query(loc, record["prompt"]),
                              extra=_grpo_extra(loc, record)))
    return items


def _grpo_query(loc: Loc, prompt: Any) -> str:
    if isinstance(prompt, str):
        return loc.text(prompt, "prompt")
    if not isinstance(prompt, list):
        raise loc.error(f"expected a list of messages, got {type(prompt).__name__}", "prompt")
    users = [i for i, m in enumerate(prompt) if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise loc.error("no message with role 'user'", "prompt")
    return loc.text(prompt[users[-1]].get("content"), f"prompt[{users[-1]}].content")


def _grpo_extra(loc: Loc, record: dict[str, Any]) -> dict[str, Any]:
    extra = {k: record[k] for k in ("data_source", "extra_info") if record.get(k) is not None}
    try:
        json.dumps(extra)
    except (TypeError, ValueError) as exc:
        raise loc.error(f"not JSON-serializable: {exc}", "extra_info") from exc
    return extra


Reader = Callable[[Path, str], list[Item]]

# (dataset name, path inside the folder, reader), in import order.
LAYOUT: tuple[tuple[str, str, Reader], ...] = (
    ("sft", "sft/sft_data.json", read_sft),
    ("rm_train", "reward_model/reward_data_train.json", read_reward),
    ("rm_test", "reward_model/reward_data_test.json", read_reward),
    ("grpo_train", "grpo_data/train.parquet", read_grpo),
    ("grpo_test", "grpo_data/test.parquet", read_grpo),
    ("evaluation_set", "evaluation_set/evaluate_data.json", read_evaluation),
    ("random_query", "random_query.txt", read_lines),
)


def read_folder(folder: Path) -> ParsedFolder:
    """Parse and validate every file of the layout in `folder`.

    Args:
        folder: A folder laid out like upstream's `dataset/` (see `LAYOUT`).

    Returns:
        The parsed items per dataset, with each file's SHA-256 and path.

    Raises:
        DataImportError: A file is missing, unreadable or invalid (message names file, line, field).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataImportError(folder, "not a folder")
    folders = [rel for _, rel, _ in LAYOUT if (folder / rel).is_dir()]
    if folders:
        raise DataImportError(folder / folders[0], "is a folder, expected a data file")
    missing = [rel for _, rel, _ in LAYOUT if not (folder / rel).is_file()]
    if missing:
        raise DataImportError(folder, "missing file(s): " + ", ".join(missing))
    parsed = ParsedFolder(folder, {}, {}, {})
    for dataset, rel, reader in LAYOUT:
        path = folder / rel
        items = reader(path, dataset)
        if not items:
            raise DataImportError(path, "the file has no rows")
        parsed.items[dataset], parsed.paths[dataset] = items, path
        parsed.sha256[rel] = file_sha256(path)
        if reader in (read_evaluation, read_lines):
            parsed.line_numbered.add(dataset)
    return parsed
