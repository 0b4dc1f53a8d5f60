"""A run's output folder from any folder: absolute as recorded; a relative one (an older store)
found from the current folder or beside the store, else a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.store import work
from kindling.store.db import Store
from kindling.store.reports import policy_output_dir


def sft_run(store: Store, output_dir: str, name: str) -> None:
    run, _ = work.get_or_create_run(store, kind="sft", run_key=None, config={},
                                    code_version="test", name=name)
    work.finish_run(store, run.id, "finished", {"output_dir": output_dir})


@pytest.fixture
def store(tmp_path: Path) -> Store:
    (tmp_path / "project").mkdir()
    s = Store(f"sqlite:///{tmp_path / 'project' / 'kindling.db'}")
    yield s
    s.close()


def test_absolute_output_dir_as_recorded(store: Store, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    sft_run(store, str(tmp_path / "project" / "runs" / "sft"), "sft")
    monkeypatch.chdir(tmp_path)
    assert policy_output_dir(store, "run:sft") == str(tmp_path / "project" / "runs" / "sft")


def test_relative_output_dir_found_beside_the_store(store: Store, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project" / "runs" / "old").mkdir(parents=True)
    sft_run(store, "runs/old", "old")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert policy_output_dir(store, "run:old") == str(tmp_path / "project" / "runs" / "old")


def test_relative_output_dir_found_from_the_current_folder(store: Store, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work" / "runs" / "old").mkdir(parents=True)
    sft_run(store, "runs/old", "old")
    monkeypatch.chdir(tmp_path / "work")
    assert policy_output_dir(store, "run:old") == str(tmp_path / "work" / "runs" / "old")


def test_relative_output_dir_not_found_is_a_clear_error(store: Store, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    sft_run(store, "runs/gone", "gone")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as err:
        policy_output_dir(store, "run:gone", what="--model")
    message = str(err.value)
    assert message.startswith("--model run:gone: ") and "'runs/gone'" in message
    assert str(tmp_path) in message and str(tmp_path / "project") in message
    assert "run this command from that folder" in message
