"""`data import --file`: a team's own JSONL, CSV or parquet file as a dataset of a given shape,
checked row by row before anything is written, then read by the same queries as the paper's."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from kindling.ingest.imports import import_user_file
from kindling.ingest.readers import DataImportError
from kindling.rl.evaluate.policy import held_out_prompts
from kindling.store.db import Store
from kindling.store.eval_data import labelled_items
from kindling.store.importers import dataset_counts
from kindling.store.pairs import dataset_pair_texts
from kindling.store.queries import corpus_pairs, latest_import_run

GOOD, SHORT = "老师您辛苦了，祝您节日快乐，身体健康！", "快乐"


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_each_shape_lands_where_the_commands_read_it(sqlite_store: Store, tmp_path: Path) -> None:
    labelled = jsonl(tmp_path / "eval.jsonl", [{"query": "给老师", "response": GOOD, "label": 1},
                                               {"query": "给老师", "response": SHORT, "label": 0}])
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"prompt,chosen,rejected\n给妈妈,{GOOD},{SHORT}\n", encoding="utf-8")
    prompts = tmp_path / "prompts.parquet"
    pq.write_table(pa.table({"prompt": ["给同事写祝福", "给朋友写祝福"]}), prompts)
    sft = jsonl(tmp_path / "sft.jsonl", [{"instruction": "给爸爸", "output": GOOD}])
    runs = {name: import_user_file(sqlite_store, path, shape, name, code_version="t").run_id
            for name, path, shape in (("my_eval", labelled, "labelled"),
                                      ("my_pairs", pairs, "pairs"),
                                      ("my_prompts", prompts, "prompts"), ("my_sft", sft, "sft"))}
    assert [(i.response, i.label) for i in labelled_items(sqlite_store, "my_eval")] == [
        (GOOD, 1), (SHORT, 0)]
    assert list(dataset_pair_texts(sqlite_store, runs["my_pairs"], "my_pairs")) == [
        ("给妈妈", GOOD, SHORT)]
    assert held_out_prompts(sqlite_store, "my_prompts", None) == ["给同事写祝福", "给朋友写祝福"]
    assert corpus_pairs(sqlite_store, "my_sft") == [("给爸爸", GOOD)]
    assert latest_import_run(sqlite_store) is None  # a file import is not the paper's import
    again = import_user_file(sqlite_store, labelled, "labelled", "my_eval", code_version="t")
    assert again.run_id is None and again.added == {"my_eval": 0}  # re-running adds nothing


@pytest.mark.parametrize(("text", "shape", "where"), [
    ('{"query": "q", "response": "r", "label": 1}\n{"query": "q", "response": "r2"}\n',
     "labelled", "line 2: field label: missing field"),
    ('{"query": "q", "response": "r", "label": 2}\n', "labelled", "line 1: field label"),
    ('{"query": "q", "chosen": "a"}\n', "pairs", "line 1: field rejected: missing field"),
    ('{"query": "q"}\n{broken\n', "prompts", "line 2: invalid JSON"),
    ('{"query": "   "}\n', "prompts", "line 1: field query: empty text"),
    ('{"query": "q", "response": "r", "label": 1}\n{"query": "q", "response": "r", "label": 0}\n',
     "labelled", "line 2: field label: label 0 contradicts label 1 at line 1"),
    ("\n\n", "prompts", "the file has no rows"),
])
def test_a_bad_row_names_file_line_field_and_writes_nothing(
        sqlite_store: Store, tmp_path: Path, text: str, shape: str, where: str) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataImportError) as caught:
        import_user_file(sqlite_store, path, shape, "mine", code_version="t")
    assert f"mine.jsonl {where}" in str(caught.value) or where in str(caught.value)
    assert str(path) in str(caught.value)
    assert dataset_counts(sqlite_store) == {}


def test_csv_lines_and_paper_names(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text('query,response,label\nq,"two\nlines",1\nq2,r,yes\n', encoding="utf-8")
    with pytest.raises(DataImportError, match=r"mine.csv line 4: field label: expected 0 or 1"):
        import_user_file(sqlite_store, path, "labelled", "mine", code_version="t")
    with pytest.raises(DataImportError, match="the paper's data uses that name"):
        import_user_file(sqlite_store, path, "labelled", "evaluation_set", code_version="t")
    (tmp_path / "x.txt").write_text("q\n", encoding="utf-8")
    with pytest.raises(DataImportError, match="unknown file type '.txt'"):
        import_user_file(sqlite_store, tmp_path / "x.txt", "prompts", "mine", code_version="t")
    with pytest.raises(DataImportError, match="no such file"):
        import_user_file(sqlite_store, tmp_path / "nope.jsonl", "prompts", "mine",
                         code_version="t")
