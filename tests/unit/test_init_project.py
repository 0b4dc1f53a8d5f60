"""`kindling init [DIR]`: a copy of every shipped config and a note; never overwrites, all or
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.configs import shipped_configs
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services.project import shipped_config_files


def init(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["init", *args])
    return result.exit_code, " ".join(result.output.split())


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_init_writes_every_shipped_config_and_a_note(tmp_path: Path) -> None:
    code, out = init(str(tmp_path / "proj"))
    assert code == 0, out
    shipped = shipped_config_files(shipped_configs())
    assert {"sft_tiny.yaml", "accelerate/zero3.yaml"} <= {p.as_posix() for p in shipped}
    assert files_under(tmp_path / "proj") == {f"configs/{p.as_posix()}" for p in shipped} | {
        "KINDLING.md"}
    for rel in shipped:
        assert (tmp_path / "proj" / "configs" / rel).read_bytes() == \
            (shipped_configs() / rel).read_bytes()
    note = (tmp_path / "proj" / "KINDLING.md").read_text(encoding="utf-8")
    assert "configs/sft_tiny.yaml" in note and "runs/" in note and "kindling.db" in note
    assert f"wrote {tmp_path / 'proj' / 'KINDLING.md'}" in out
    assert "next: cd " in out and "kindling quickstart" in out


def test_init_defaults_to_the_current_folder(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    code, out = init()
    assert code == 0, out
    assert (tmp_path / "configs" / "sft_tiny.yaml").is_file()
    assert "next: kindling quickstart" in out


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "configs").mkdir(parents=True)
    (proj / "configs" / "rm_tiny.yaml").write_text("mine", encoding="utf-8")
    (proj / "KINDLING.md").write_text("my notes", encoding="utf-8")
    code, out = init(str(proj))
    assert code == 2
    assert "error:" in out and "configs/rm_tiny.yaml" in out and "KINDLING.md" in out
    assert "nothing was written" in out and "sft_tiny.yaml" not in out
    assert files_under(proj) == {"configs/rm_tiny.yaml", "KINDLING.md"}
    assert (proj / "configs" / "rm_tiny.yaml").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in proj.iterdir()) == ["KINDLING.md", "configs"]  # no staging left


def test_init_refuses_a_file_where_a_folder_goes(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "configs").write_text("a file", encoding="utf-8")
    code, out = init(str(tmp_path / "proj"))
    assert code == 2 and "configs/sft_tiny.yaml" in out
    assert files_under(tmp_path / "proj") == {"configs"}
    code, out = init(str(tmp_path / "proj" / "configs"))
    assert code == 2 and "is a file" in out


def test_a_failed_placement_removes_what_was_placed(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from kindling.services import project

    real, calls = project._place, []

    def place_then_fail(src: Path, dest: Path) -> None:
        calls.append(dest)
        if len(calls) == 3:
            raise FileExistsError(17, "File exists", str(dest))
        real(src, dest)

    monkeypatch.setattr(project, "_place", place_then_fail)
    code, out = init(str(tmp_path / "proj"))
    assert code == 2 and "nothing was written" in out
    assert not (tmp_path / "proj").exists()  # the folder it made is gone too
