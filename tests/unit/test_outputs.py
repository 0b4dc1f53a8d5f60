"""Output locations: Kindling replaces only what it wrote, and checks before any work."""

from pathlib import Path

import pytest
from kindling.store.errors import OutputError

from kindling.outputs import (
    MANIFEST,
    check_claimable,
    check_output_dir,
    check_output_file,
    claim_dir,
    owned_entries,
    publish_dir,
    remove_owned_dir,
    staged_dir,
    write_text,
)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def export(out: Path, text: str, *, overwrite: bool = False) -> None:
    check_output_dir(out, ("pairs.jsonl", "dataset"), overwrite=overwrite)
    with staged_dir(out) as tmp:
        (tmp / "pairs.jsonl").write_text(text)
        (tmp / "dataset").mkdir()
        (tmp / "dataset" / "data.arrow").write_text(text)
        publish_dir(tmp, out, "test")


def test_new_folder_is_created_and_marked(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    export(out, "1")
    assert (out / "pairs.jsonl").read_text() == "1" and (out / MANIFEST).is_file()
    assert {"pairs.jsonl", "dataset"} <= owned_entries(out)
    assert [p.name for p in tmp_path.joinpath("a").iterdir()] == ["b"]  # no staging left


def test_non_empty_folder_needs_overwrite_and_keeps_the_users_files(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    (out / "sub").mkdir(parents=True)
    (out / "thesis.txt").write_text("years of work")
    (out / "sub" / "notes.md").write_text("notes")
    with pytest.raises(OutputError, match="not empty; pass --overwrite"):
        export(out, "1")
    export(out, "1", overwrite=True)
    export(out, "2", overwrite=True)  # an earlier export's files are Kindling's: replaced
    files = tree(out)
    assert files["thesis.txt"] == b"years of work" and files["sub/notes.md"] == b"notes"
    assert files["pairs.jsonl"] == b"2" and files["dataset/data.arrow"] == b"2"


def test_a_same_named_file_of_the_users_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "pairs.jsonl").write_text("mine")
    with pytest.raises(OutputError, match="pairs.jsonl not written by Kindling"):
        export(tmp_path, "1", overwrite=True)
    assert (tmp_path / "pairs.jsonl").read_text() == "mine"


def test_a_file_where_a_folder_belongs(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(tmp_path / "f", ("pairs.jsonl",), overwrite=True)


def test_file_outputs(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder"):
        check_output_file(tmp_path, overwrite=True)
    with pytest.raises(OutputError, match="does not exist"):
        check_output_file(tmp_path / "no" / "x.jsonl", overwrite=True)
    target = tmp_path / "x.jsonl"
    target.write_text("old")
    with pytest.raises(OutputError, match="file exists; pass --overwrite"):
        check_output_file(target, overwrite=False)
    check_output_file(target, overwrite=True)
    write_text(target, "new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["x.jsonl"]


def test_claimed_folders(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    with pytest.raises(OutputError, match="not made by Kindling"):
        check_claimable(mine, overwrite=True)
    assert not remove_owned_dir(mine) and (mine / "config.json").is_file()
    run = tmp_path / "run"
    claim_dir(run, overwrite=False, command="test")
    claim_dir(run, overwrite=False, command="test")  # still empty: fine
    (run / "model.safetensors").write_text("w")
    with pytest.raises(OutputError, match="pass --overwrite"):
        check_claimable(run, overwrite=False)
    check_claimable(run, overwrite=True)
    assert remove_owned_dir(run) and not run.exists()


def test_claiming_a_folder_again_empties_it_first(tmp_path: Path) -> None:
    """`train --overwrite` into an earlier run's folder: nothing of that run stays beside the new
    one's files (its checkpoint-20 would sit next to the new checkpoint-5)."""
    run = tmp_path / "run"
    claim_dir(run, overwrite=False, command="test")
    (run / "checkpoint-20").mkdir()
    (run / "checkpoint-20" / "model.safetensors").write_text("old")
    (run / "model.safetensors").write_text("old")
    claim_dir(run, overwrite=True, command="test")
    assert [p.name for p in run.iterdir()] == [".kindling-output.json"]
    assert owned_entries(run) == {"*"}
