"""The docs' "From Python" block (docs/python-api.md), run as it is: the services a notebook calls
are the commands'."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from kindling.store.db import Store

from kindling.services.training import build_tiny_model, corpus_texts
from tests.conftest import PaperDB

ROOT = Path(__file__).resolve().parents[2]


PAGE = ROOT / "docs" / "python-api.md"


def docs_block(title: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    assert f"## {title}\n" in text, f"no section {title!r} in {PAGE.relative_to(ROOT)}"
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, f"no python block under {title}"
    return found.group(1)


def test_the_docs_python_block_runs(tmp_path: Path, paper_db: PaperDB,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    paper_db.copy_to(tmp_path / "kindling.db")  # as after `kindling data import`
    store = Store("sqlite:///kindling.db")
    build_tiny_model(corpus_texts(store), tmp_path / "models" / "tiny", vocab_size=400)
    store.close()
    namespace: dict[str, object] = {}
    exec(compile(docs_block("From Python"), "docs/python-api.md", "exec"), namespace)
    shown = capsys.readouterr().out
    assert re.search(r"'base': \d+\.\d, 'sft': \d+\.\d", shown), shown
    assert (tmp_path / "runs" / "notebook_sft").is_dir()
    report = namespace["report"]
    assert set(report) == {"base", "sft"}  # type: ignore[arg-type]
    assert namespace["judged"].metrics["items"] == 2  # type: ignore[attr-defined]
