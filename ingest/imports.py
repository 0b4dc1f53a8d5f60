"""Import the paper's data (a folder of upstream's `dataset/` layout) or a team's own file.

Validation first, writes second: `ingest.readers.read_folder` (or `ingest.user_files`) parses and
checks every row before the store is touched; `store.importers.import_parsed` then writes them in
one transaction, idempotently (see there).
"""

from __future__ import annotations

import time
from pathlib import Path

from kindling.ingest.readers import read_folder
from kindling.ingest.user_files import read_user_file
from kindling.store.db import Store
from kindling.store.importers import ImportReport, import_parsed


def import_paper_data(store: Store, folder: Path, *, code_version: str) -> ImportReport:
    """Import every file of a folder of the paper's `dataset/` layout, idempotently.

    Args:
        store: The store to write to.
        folder: Folder with sft/, reward_model/, grpo_data/, evaluation_set/ and random_query.txt.
        code_version: Version of this code, kept on the import run.

    Returns:
        Per-dataset rows and additions, per-table additions and the run id (None if nothing new).

    Raises:
        DataImportError: A file is invalid, or conflicts with what the store holds; nothing written.
    """
    started = time.perf_counter()
    parsed = read_folder(Path(folder))
    config = {"folder": str(parsed.folder.resolve()), "files": parsed.sha256}
    return import_parsed(store, parsed, config, code_version=code_version, started=started)


def import_user_file(store: Store, path: Path, shape: str, dataset: str, *,
                     code_version: str) -> ImportReport:
    """Import a team's own file (JSON Lines, CSV, parquet) as `dataset`, idempotently: see
    `ingest.user_files` for the shapes. The import run's config names the file, shape and dataset.

    Raises:
        DataImportError: a bad file, row or field, or a conflict with the store; nothing written.
    """
    started = time.perf_counter()
    parsed = read_user_file(Path(path), shape, dataset)
    config = {"file": str(Path(path).resolve()), "as": shape, "dataset": dataset,
              "files": parsed.sha256}
    return import_parsed(store, parsed, config, code_version=code_version, started=started)
