"""Readers of the paper's files (errors name file, line, field); the checksummed upstream fetch."""

from __future__ import annotations

import functools
import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from kindling.ingest.readers import (
    LAYOUT,
    MAX_TEXT_CHARS,
    DataImportError,
    file_sha256,
    read_evaluation,
    read_folder,
    read_grpo,
    read_lines,
    read_reward,
    read_sft,
)
from kindling.ingest.upstream import UPSTREAM_SHA256, fetch_upstream

SFT_ROW = {"instruction": "生日祝福", "input": "", "output": "生日快乐！"}
RM_ROW = {"conversations": [{"from": "human", "value": "新年祝福"}],
          "chosen": {"from": "gpt", "value": "新年快乐，万事如意！"},
          "rejected": {"from": "gpt", "value": "新年快乐"}}


def _json_array(path: Path, rows: list[object]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _error(reader: Callable[[Path, str], object], path: Path) -> str:
    with pytest.raises(DataImportError) as info:
        reader(path, "x")
    return str(info.value)


# --- happy paths -----------------------------------------------------------------------------


def test_sft_joins_input_and_numbers_rows(tmp_path: Path) -> None:
    rows = [SFT_ROW,
            {"instruction": "写一句祝福", "input": "给妈妈", "output": "妈妈节日快乐"},
            {"instruction": "晚安", "input": "   ", "output": "晚安好梦"}]
    items = read_sft(_json_array(tmp_path / "sft.json", rows), "sft")
    assert [(i.line, i.query, i.response) for i in items] == [
        (1, "生日祝福", "生日快乐！"), (2, "写一句祝福\n给妈妈", "妈妈节日快乐"), (3, "晚安", "晚安好梦")]


def test_reward_takes_the_human_turn(tmp_path: Path) -> None:
    turns = [{"from": "system", "value": "s"}, *RM_ROW["conversations"]]  # type: ignore[misc]
    row = {**RM_ROW, "conversations": turns}
    (item,) = read_reward(_json_array(tmp_path / "rm.json", [row]), "rm_train")
    assert (item.query, item.response, item.rejected) == (
        "新年祝福", "新年快乐，万事如意！", "新年快乐")


def test_lines_skip_blanks_but_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_bytes("\ufeff第一\r\n\n  \n第四\n".encode())
    items = read_lines(path, "random_query")
    assert [(i.line, i.query) for i in items] == [(1, "第一"), (4, "第四")]


def test_evaluation_is_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text('{"query": "q", "response": "r", "label": 1}\n\n'
                    '{"query": "q", "response": "s", "label": 0}\n', encoding="utf-8")
    items = read_evaluation(path, "evaluation_set")
    assert [(i.line, i.response, i.label) for i in items] == [(1, "r", 1), (3, "s", 0)]


def test_grpo_takes_user_content_and_keeps_extras(tmp_path: Path) -> None:
    path = tmp_path / "g.parquet"
    pq.write_table(pa.Table.from_pylist([{
        "prompt": [{"role": "system", "content": "sys"}, {"role": "user", "content": "请写祝福"}],
        "data_source": "custom_json", "extra_info": {"index": 7, "split": "train"}}]), path)
    (item,) = read_grpo(path, "grpo_train")
    assert (item.line, item.query) == (1, "请写祝福")
    assert item.extra == {"data_source": "custom_json",
                          "extra_info": {"index": 7, "split": "train"}}


def test_paper_folder_parses_with_reference_counts(paper_data: Path) -> None:
    parsed = read_folder(paper_data)
    # random_query.txt holds 10,000 lines (9,999 newlines: the last line has none).
    assert {k: len(v) for k, v in parsed.items.items()} == {
        "sft": 4000, "rm_train": 6310, "rm_test": 1586, "grpo_train": 3200, "grpo_test": 800,
        "evaluation_set": 1606, "random_query": 10000}
    assert parsed.sha256 == {rel: file_sha256(paper_data / rel) for _, rel, _ in LAYOUT}


# --- errors name file, line (or row) and field -----------------------------------------------

def _text(body: str) -> Callable[[Path], object]:
    return lambda p: p.write_text(body, encoding="utf-8")


def _sft(**row: object) -> Callable[[Path], object]:
    return lambda p: _json_array(p, [{**SFT_ROW, **row}])


def _rm(*rows: dict[str, object]) -> Callable[[Path], object]:
    return lambda p: _json_array(p, [{**RM_ROW, **row} for row in rows])


def _eval(*labels: object) -> Callable[[Path], object]:
    return lambda p: _jsonl(p, [{"query": "q", "response": "r", "label": x} for x in labels])


def _parquet(*prompts: object) -> Callable[[Path], object]:
    return lambda p: pq.write_table(pa.Table.from_pylist([{"prompt": x} for x in prompts]), p)


TWO_SFT_ROWS = json.dumps([SFT_ROW, SFT_ROW], indent=2)
USER, SYSTEM = [{"role": "user", "content": "a"}], [{"role": "system", "content": "b"}]
ERROR_CASES = {  # case: (reader, writer, parts the message must hold)
    "not an array": (read_sft, _text('{"a": 1}'), ["line 1", "expected a JSON array"]),
    "truncated array": (read_sft, _text(TWO_SFT_ROWS[:-30]), ["line 10", "invalid JSON", "column"]),
    "cut between rows": (read_sft, _text('[\n{"instruction": "a", "output": "b"},\n'),
                         ["line 3", "truncated"]),
    "extra data": (read_sft, _text("[]\n[]"), ["line 2", "extra data"]),
    "row not an object": (read_sft, _text("[\n  1\n]"),
                          ["line 2 (row 1): expected a JSON object, got int"]),
    "missing field": (read_reward, _rm({}, {"chosen": {"from": "gpt"}}),
                      ["line 18 (row 2)", "field chosen.value: missing field"]),
    "empty text": (read_reward, _rm({"rejected": {"value": " \n"}}),
                   ["line 2 (row 1)", "field rejected.value: empty text"]),
    "no human turn": (read_reward, _rm({"conversations": [{"from": "gpt"}]}),
                      ["line 2 (row 1)", "field conversations", "no turn from 'human'"]),
    "wrong type": (read_sft, _sft(output=5),
                   ["line 2 (row 1)", "field output: expected a string, got int"]),
    "too long": (read_sft, _sft(output="长" * (MAX_TEXT_CHARS + 1)),
                 ["row 1", "field output: text too long"]),
    "nul character": (read_sft, _sft(instruction="a\x00b"),
                      ["field instruction: text contains a NUL"]),
    "bad utf-8": (read_lines, lambda p: p.write_bytes(b"ok\n\xe7\x94\n"),
                  ["line 2", "invalid UTF-8"]),
    "bad label": (read_evaluation, _eval(1, 2), ["line 2: field label: expected 0 or 1, got 2"]),
    "label as string": (read_evaluation, _eval("1"), ["field label: expected 0 or 1, got '1'"]),
    "broken jsonl line": (read_evaluation,
                          _text('{"query": "q", "response": "r", "label": 1}\n\n{"query": '),
                          ["line 3: invalid JSON"]),
    "contradicting labels": (read_evaluation, _eval(1, 0),
                             ["line 2: field label: label 0 contradicts label 1 at line 1"]),
    "unreadable parquet": (read_grpo, lambda p: p.write_bytes(b"PAR1 not really"),
                           ["unreadable parquet"]),
    "parquet without prompt": (read_grpo, lambda p: pq.write_table(pa.table({"q": ["a"]}), p),
                               ["field prompt: missing column"]),
    "parquet without user": (read_grpo, _parquet(USER, SYSTEM),
                             ["row 2: field prompt: no message with role 'user'"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_broken_file_error_names_file_line_and_field(tmp_path: Path, case: str) -> None:
    reader, write, expected = ERROR_CASES[case]
    path = tmp_path / "data_file"
    write(path)
    message = _error(reader, path)
    assert message.startswith(str(path))
    for part in expected:
        assert part in message


def test_missing_files_are_listed(tmp_path: Path) -> None:
    (tmp_path / "sft").mkdir()
    _json_array(tmp_path / "sft" / "sft_data.json", [SFT_ROW])
    with pytest.raises(DataImportError, match="missing file.*reward_model/reward_data_train.json"):
        read_folder(tmp_path)


# --- upstream download -------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serve(folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dataset"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _mirror(paper_data: Path, root: Path) -> Path:
    """A served folder `root/dataset/...` linking to the paper files."""
    for rel in UPSTREAM_SHA256:
        (root / "dataset" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "dataset" / rel).symlink_to(paper_data / rel)
    return root


def test_upstream_hash_table_matches_the_paper_copy(paper_data: Path) -> None:
    assert set(UPSTREAM_SHA256) == {rel for _, rel, _ in LAYOUT}
    for rel, digest in UPSTREAM_SHA256.items():
        if digest is not None:
            assert file_sha256(paper_data / rel) == digest, rel


def test_fetch_upstream_downloads_verifies_and_caches(paper_data: Path, tmp_path: Path) -> None:
    dest, warnings = tmp_path / "cache" / "commit", []
    with _serve(_mirror(paper_data, tmp_path / "www")) as base_url:
        assert fetch_upstream(dest, base_url=base_url, timeout_s=10, warn=warnings.append) == dest
    for rel in UPSTREAM_SHA256:
        assert (dest / rel).read_bytes() == (paper_data / rel).read_bytes()
    assert warnings == [
        "evaluation_set/evaluate_data.json: no known upstream SHA-256, file not verified"]
    # The server is gone: a second call is served from the verified cache.
    fetch_upstream(dest, base_url=base_url, timeout_s=1, warn=warnings.append)
    assert read_folder(dest).sha256["sft/sft_data.json"] == UPSTREAM_SHA256["sft/sft_data.json"]


def test_fetch_upstream_checksum_mismatch_leaves_nothing(
    paper_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    www = _mirror(paper_data, tmp_path / "www")
    last = www / "dataset" / "random_query.txt"  # downloaded last: the others are already fetched
    last.unlink()
    last.write_bytes((paper_data / "random_query.txt").read_bytes() + b"\nextra")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    dest = tmp_path / "cache" / "commit"
    with _serve(www) as base_url, pytest.raises(DataImportError) as info:
        fetch_upstream(dest, base_url=base_url, timeout_s=10, warn=lambda _: None)
    assert "random_query.txt" in str(info.value) and "SHA-256 mismatch" in str(info.value)
    assert not (tmp_path / "cache").exists()
    assert list(scratch.iterdir()) == []


def test_fetch_upstream_http_error_names_url(tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    with _serve(tmp_path / "www") as base_url, pytest.raises(DataImportError) as info:
        fetch_upstream(tmp_path / "dest", base_url=base_url, timeout_s=10,
                       expected={"sft/sft_data.json": "0" * 64})
    assert f"{base_url}/sft/sft_data.json" in str(info.value) and "404" in str(info.value)
    assert not (tmp_path / "dest").exists()
