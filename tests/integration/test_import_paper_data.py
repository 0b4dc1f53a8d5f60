"""Importing the paper data into real SQLite and PostgreSQL stores: counts, reruns, errors, CLI."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from kindling.ingest.imports import import_paper_data
from kindling.ingest.readers import LAYOUT, DataImportError
from kindling.ingest.upstream import UPSTREAM_SHA256
from kindling.store.db import Store
from kindling.store.importers import TABLES
from kindling.store.models import DatasetRecord, Label, PreferencePair, Query, Response, Run
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app

PAPER_ROWS = {"sft": 4000, "rm_train": 6310, "rm_test": 1586, "grpo_train": 3200,
              "grpo_test": 800, "evaluation_set": 1606, "random_query": 10000}
ALL_TABLES = {**TABLES, "runs": Run}


def table_counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {name: s.scalar(select(func.count()).select_from(model)) or 0
                for name, model in ALL_TABLES.items()}


def expected_table_counts(folder: Path) -> dict[str, int]:
    """Distinct queries/responses/labels/pairs, computed straight from the files."""
    sft = json.loads((folder / "sft/sft_data.json").read_text("utf-8"))
    rm = [row for name in ("train", "test") for row in json.loads(
        (folder / f"reward_model/reward_data_{name}.json").read_text("utf-8"))]
    grpo = [row["prompt"][0]["content"] for name in ("train", "test")
            for row in pq.read_table(folder / f"grpo_data/{name}.parquet").to_pylist()]
    evaluation = [json.loads(line) for line in
                  (folder / "evaluation_set/evaluate_data.json").read_text("utf-8").splitlines()]
    lines = (folder / "random_query.txt").read_text("utf-8").splitlines()
    pairs = {(r["conversations"][0]["value"], r["chosen"]["value"], r["rejected"]["value"])
             for r in rm}
    responses = ({(r["instruction"], r["output"]) for r in sft}
                 | {(q, c) for q, c, _ in pairs} | {(q, r) for q, _, r in pairs}
                 | {(e["query"], e["response"]) for e in evaluation})
    queries = ({r["instruction"] for r in sft} | {q for q, _, _ in pairs} | set(grpo)
               | {e["query"] for e in evaluation} | set(lines))
    labels = {(e["query"], e["response"]) for e in evaluation}
    return {"queries": len(queries), "responses": len(responses), "labels": len(labels),
            "preference_pairs": len(pairs), "dataset_records": sum(PAPER_ROWS.values()), "runs": 1}


def check_paper_import(store: Store, paper_data: Path) -> None:
    report = import_paper_data(store, paper_data, code_version="test")
    assert report.rows == PAPER_ROWS and report.added == PAPER_ROWS
    counts = table_counts(store)
    assert counts == expected_table_counts(paper_data)
    assert report.tables == {name: counts[name] for name in TABLES}
    with store.session() as s:
        run = s.scalars(select(Run)).one()
        assert (run.kind, run.status, run.code_version) == ("import", "finished", "test")
        assert run.config["files"]["sft/sft_data.json"] == UPSTREAM_SHA256["sft/sft_data.json"]
        assert run.metrics["added"] == PAPER_ROWS
        records = dict(s.execute(select(DatasetRecord.dataset, func.count())
                                 .group_by(DatasetRecord.dataset)).all())
        assert records == PAPER_ROWS
    again = import_paper_data(store, paper_data, code_version="test")
    assert again.run_id is None and set(again.added.values()) == {0}
    assert table_counts(store) == counts


def test_paper_data_reference_counts_and_reimport_sqlite(
    sqlite_store: Store, paper_data: Path
) -> None:
    check_paper_import(sqlite_store, paper_data)
    with sqlite_store.session() as s:
        first_sft = json.loads((paper_data / "sft/sft_data.json").read_text("utf-8"))[0]
        record = s.scalars(select(DatasetRecord).filter_by(dataset="sft", line=1)).one()
        query = s.get(Query, record.query_id)
        assert query is not None and query.text == first_sft["instruction"]
        response = s.get(Response, record.response_id)
        assert response is not None and response.text == first_sft["output"]
        assert (response.origin, response.model) == ("dataset", None)
        pair_record = s.scalars(select(DatasetRecord).filter_by(dataset="rm_test", line=5)).one()
        pair = s.get(PreferencePair, pair_record.pair_id)
        assert pair is not None and pair.evidence == {"dataset": "rm_test", "line": 5}
        grpo = s.scalars(select(DatasetRecord).filter_by(dataset="grpo_test", line=3)).one()
        assert grpo.extra["extra_info"] == {"index": 2, "split": "test"}
        assert s.scalar(select(func.count()).select_from(Label).where(Label.value == 1)) > 700


def test_paper_data_on_postgres(pg_store: Store, paper_data: Path) -> None:
    check_paper_import(pg_store, paper_data)


# --- a tiny folder cut from the paper data (3 rows a file), broken one way per case ---------

PAPER_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "igniting"  # as conftest
TINY_ROWS = 3


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first rows of each paper file, same layout and formats (JSON arrays indented by 2)."""
    root = tmp_path_factory.mktemp("tiny")
    for _, rel, _ in LAYOUT:
        src, dst = PAPER_DATA / rel, root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".parquet"):
            pq.write_table(pq.read_table(src).slice(0, TINY_ROWS), dst)
        elif rel.startswith(("sft/", "reward_model/")):
            rows = json.loads(src.read_text("utf-8"))[:TINY_ROWS]
            dst.write_text(json.dumps(rows, ensure_ascii=False, indent=2), "utf-8")
        else:
            lines = src.read_text("utf-8").splitlines()[:TINY_ROWS]
            dst.write_text("\n".join(lines) + "\n", "utf-8")
    return root


@pytest.fixture
def tiny(tiny_source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_source, tmp_path / "igniting"))


def _json_row(rel: str, row: int, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        rows = json.loads((folder / rel).read_text("utf-8"))
        change(rows[row - 1])
        (folder / rel).write_text(json.dumps(rows, ensure_ascii=False, indent=2), "utf-8")
    return apply


def _line(rel: str, number: int, text: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        lines = (folder / rel).read_text("utf-8").split("\n")
        lines += [""] * (number - len(lines))
        lines[number - 1] = text
        (folder / rel).write_text("\n".join(lines), "utf-8")
    return apply


def _set_label(line: int, label: object) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        rel = "evaluation_set/evaluate_data.json"
        row = json.loads((folder / rel).read_text("utf-8").split("\n")[line - 1])
        _line(rel, line, json.dumps({**row, "label": label}, ensure_ascii=False))(folder)
    return apply


def _truncate(rel: str, *, text: bool = True) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        data = (folder / rel).read_text("utf-8") if text else (folder / rel).read_bytes()
        cut = data[: len(data) // 2]
        (folder / rel).write_bytes(cut.encode() if isinstance(cut, str) else cut)
    return apply


def _append_bytes(rel: str, data: bytes) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / rel).write_bytes((folder / rel).read_bytes() + data)
    return apply


def _empty_grpo_prompt(folder: Path) -> None:
    rows = pq.read_table(folder / "grpo_data/train.parquet").to_pylist()
    rows[1]["prompt"][0]["content"] = " "
    pq.write_table(pq.read_table(folder / "grpo_data/train.parquet").from_pylist(rows),
                   folder / "grpo_data/train.parquet")


RM_TRAIN, RM_TEST = "reward_model/reward_data_train.json", "reward_model/reward_data_test.json"
EVAL = "evaluation_set/evaluate_data.json"
BROKEN = {  # case: (break the tiny folder, parts the error message must hold)
    "truncated json": (_truncate("sft/sft_data.json"),
                       ["sft/sft_data.json line ", "invalid JSON", "column"]),
    "missing field": (_json_row(RM_TRAIN, 2, lambda r: r.pop("chosen")),
                      [f"{RM_TRAIN} line 18 (row 2): field chosen: missing field"]),
    "empty text": (_json_row(RM_TEST, 3, lambda r: r["rejected"].update(value="  ")),
                   [f"{RM_TEST} line 34 (row 3): field rejected.value: empty text"]),
    "wrong type": (_json_row("sft/sft_data.json", 2, lambda r: r.update(output=["a"])),
                   ["sft/sft_data.json line 7 (row 2): field output: expected a string"]),
    "bad utf-8": (_append_bytes("random_query.txt", b"\xff\xfe broken\n"),
                  ["random_query.txt line 4: invalid UTF-8 at byte offset"]),
    "cut in a character": (_append_bytes("sft/sft_data.json", "长".encode()[:2]),
                           ["sft/sft_data.json line ", "ends inside a UTF-8 character"]),
    "bad label": (_set_label(2, 5),
                  [f"{EVAL} line 2: field label: expected 0 or 1, got 5"]),
    "broken jsonl line": (_line("evaluation_set/evaluate_data.json", 3, '{"query": "x", "resp'),
                          ["evaluation_set/evaluate_data.json line 3: invalid JSON"]),
    "unreadable parquet": (_truncate("grpo_data/test.parquet", text=False),
                           ["grpo_data/test.parquet: unreadable parquet"]),
    "empty parquet text": (_empty_grpo_prompt,
                           ["grpo_data/train.parquet row 2: field prompt[0].content: empty text"]),
    "missing file": (lambda folder: (folder / "random_query.txt").unlink(),
                     ["missing file(s): random_query.txt"]),
}
EMPTY = dict.fromkeys(ALL_TABLES, 0)


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_names_file_line_field_and_writes_nothing(
    sqlite_store: Store, tiny: Path, case: str
) -> None:
    breaker, parts = BROKEN[case]
    breaker(tiny)
    with pytest.raises(DataImportError) as info:
        import_paper_data(sqlite_store, tiny, code_version="test")
    for part in parts:
        assert part in str(info.value)
    assert table_counts(sqlite_store) == EMPTY


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue("pg_store" if request.param == "postgres" else "sqlite_store")


def test_conflict_found_while_writing_rolls_everything_back(any_store: Store, tiny: Path) -> None:
    import_paper_data(any_store, tiny, code_version="test")
    before = table_counts(any_store)
    rel = "evaluation_set/evaluate_data.json"
    first = json.loads((tiny / rel).read_text("utf-8").split("\n")[0])
    _line(rel, 1, "")(tiny)  # line 1 leaves the file; line 4 repeats it with the other label
    _line(rel, 4, json.dumps({**first, "label": 1 - first["label"]}, ensure_ascii=False))(tiny)
    _line("random_query.txt", 4, "一条新的查询：写给未来的自己")(tiny)  # written before the clash
    with pytest.raises(DataImportError) as info:
        import_paper_data(any_store, tiny, code_version="test")
    assert f"{rel} line 4: field label: label {1 - first['label']} contradicts" in str(info.value)
    assert table_counts(any_store) == before


def test_changed_file_is_refused(sqlite_store: Store, tiny: Path) -> None:
    import_paper_data(sqlite_store, tiny, code_version="test")
    before = table_counts(sqlite_store)
    _json_row("sft/sft_data.json", 2, lambda r: r.update(instruction="改过的指令"))(tiny)
    with pytest.raises(DataImportError, match=r"sft/sft_data.json row 2: field query: .*differ"):
        import_paper_data(sqlite_store, tiny, code_version="test")
    assert table_counts(sqlite_store) == before


def test_new_rows_are_added_by_a_new_run(sqlite_store: Store, tiny: Path) -> None:
    first = import_paper_data(sqlite_store, tiny, code_version="test")
    _line("random_query.txt", 5, "一条新的查询：写给未来的自己")(tiny)  # line 4 stays blank
    second = import_paper_data(sqlite_store, tiny, code_version="test")
    assert (first.run_id, second.run_id) == (1, 2)
    assert second.added == {**dict.fromkeys(PAPER_ROWS, 0), "random_query": 1}
    assert second.tables == {**dict.fromkeys(TABLES, 0), "queries": 1, "dataset_records": 1}
    with sqlite_store.session() as s:
        record = s.scalars(select(DatasetRecord).filter_by(dataset="random_query", line=5)).one()
        assert record.run_id == 2


# --- the command line -----------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _shows(output: str, text: str) -> bool:
    """`text` is in `output`, ignoring whitespace (rich wraps, and folds long words)."""
    return "".join(text.split()) in "".join(output.split())


def test_cli_import_reimport_and_stats(sqlite_url: str, tiny: Path) -> None:
    code, out = _cli("--db-url", sqlite_url, "data", "import", "--from", str(tiny))
    assert code == 0, out
    assert _shows(out, "│ random_query │ random_query.txt │ 3 │ 3 │") and "Import run 1" in out
    code, out = _cli("--db-url", sqlite_url, "data", "import", "--from", str(tiny))
    assert code == 0 and _shows(out, "Nothing new: the store already holds every row.")
    code, out = _cli("--db-url", sqlite_url, "data", "stats")
    assert code == 0 and _shows(out, "│ grpo_test │ 3 │")


def test_cli_broken_file_exits_2_with_the_message(sqlite_url: str, tiny: Path) -> None:
    _set_label(2, "good")(tiny)
    code, out = _cli("--db-url", sqlite_url, "data", "import", "--from", str(tiny))
    assert code == 2
    message = "evaluation_set/evaluate_data.json line 2: field label: expected 0 or 1, got 'good'"
    assert _shows(out, f"error: {tiny / message}")
    store = Store(sqlite_url)
    assert table_counts(store) == EMPTY
    store.close()


def test_cli_needs_a_source(sqlite_url: str) -> None:
    code, out = _cli("--db-url", sqlite_url, "data", "import")
    assert code == 2 and _shows(out, "exactly one of --from PATH, --upstream or --file FILE")


def test_cli_upstream_uses_the_verified_cache(
    sqlite_url: str, paper_data: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    for rel in UPSTREAM_SHA256:  # a cache already filled: nothing to download
        (cache / rel).parent.mkdir(parents=True, exist_ok=True)
        (cache / rel).symlink_to(paper_data / rel)
    code, out = _cli("--db-url", sqlite_url, "data", "import", "--upstream", "--cache-dir",
                     str(cache))
    assert code == 0, out
    assert _shows(out, "warning: evaluation_set/evaluate_data.json: no known upstream SHA-256")
    assert _shows(out, "│ random_query │ random_query.txt │ 10000 │ 10000 │")


def test_concurrent_imports_add_everything_once(any_store: Store, tiny: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(
            lambda _: import_paper_data(any_store, tiny, code_version="test"), range(3)))
    assert sorted(r.run_id is None for r in reports) == [False, True, True]
    assert table_counts(any_store)["dataset_records"] == TINY_ROWS * len(PAPER_ROWS)
    assert table_counts(any_store)["runs"] == 1
