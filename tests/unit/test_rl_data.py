"""Store → training datasets, counted against the paper data as imported."""

from pathlib import Path

import pytest
from kindling.ingest.imports import import_paper_data
from kindling.rl.data import EmptyDataError, preference_dataset, prompt_dataset, sft_dataset
from kindling.store.db import Store


def test_datasets_from_the_imported_paper_data(sqlite_store: Store, paper_data: Path) -> None:
    report = import_paper_data(sqlite_store, paper_data, code_version="test")
    assert report.run_id is not None

    sft = sft_dataset(sqlite_store)
    assert len(sft) == 4000 and sft.column_names == ["messages"]
    roles = [m["role"] for m in sft[0]["messages"]]
    assert roles == ["user", "assistant"] and all(m["content"] for m in sft[0]["messages"])
    assert len(sft_dataset(sqlite_store, limit=5)) == 5

    prompts = prompt_dataset(sqlite_store)
    assert len(prompts) == 3200 and prompts.column_names == ["prompt"]
    assert prompts[0]["prompt"][0]["role"] == "user"
    assert len(prompt_dataset(sqlite_store, limit=3)) == 3

    rm_train = preference_dataset(sqlite_store, report.run_id, dataset="rm_train")
    assert len(rm_train) == 6310 and rm_train.column_names == ["prompt", "chosen", "rejected"]
    assert len(preference_dataset(sqlite_store, report.run_id, dataset="rm_test")) == 1586
    assert len(preference_dataset(sqlite_store, report.run_id)) == 6310 + 1586
    assert len(preference_dataset(sqlite_store, report.run_id, limit=2)) == 2


def test_empty_store_says_import_first(sqlite_store: Store) -> None:
    with pytest.raises(EmptyDataError, match="import first"):
        sft_dataset(sqlite_store)
    with pytest.raises(EmptyDataError, match="import first"):
        prompt_dataset(sqlite_store)
    with pytest.raises(EmptyDataError, match="no preference pairs"):
        preference_dataset(sqlite_store, 1)
