"""The README's "From Python" block, run as it is: the services a notebook calls are the commands'."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from kindling.store.db import Store

from kindling.services.training import build_tiny_model, corpus_texts
from tests.conftest import PaperDB

ROOT = Path(__file__).resolve().parents[2]


def readme_block(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"### {title}\n", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, f"no python block under {title}"
    return found.group(1)


def test_the_readme_python_block_runs(tmp_path: Path, paper_db: PaperDB,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    paper_db.copy_to(tmp_path / "kindling.db")  # as after `kindling data import`
    store = Store("sqlite:///kindling.db")
    build_tiny_model(corpus_texts(store), tmp_path / "models" / "tiny", vocab_size=400)
    store.close()
    namespace: dict[str, object] = {}
    exec(compile(readme_block("From Python"), "README.md", "exec"), namespace)
    shown = capsys.readouterr().out
    assert re.search(r"'base': \d+\.\d, 'sft': \d+\.\d", shown), shown
    assert (tmp_path / "runs" / "notebook_sft").is_dir()
    report = namespace["report"]
    assert set(report) == {"base", "sft"}  # type: ignore[arg-type]
    assert namespace["judged"].metrics["items"] == 2  # type: ignore[attr-defined]
