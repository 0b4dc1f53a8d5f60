"""What an import writes: the parsed rows of data files (`Item`) and a parsed folder or file.

The parsers in `ingest/` build these; `store.importers.import_parsed` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Item:
    """One row of a data file: its query and, depending on the file, responses, label, extras."""

    dataset: str
    line: int
    query: str
    response: str | None = None
    rejected: str | None = None
    label: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedFolder:
    """Every file of a folder, parsed and validated: items per dataset, file hashes and paths."""

    folder: Path
    items: dict[str, list[Item]]
    sha256: dict[str, str]
    paths: dict[str, Path]
    line_numbered: set[str] = field(default_factory=set)  # Item.line is a file line, not a row
