"""The English slogans task's hand-written data: counts, balance, fields, no duplicates or overlap
between files, the importer reads every file, and length alone does not separate good from bad."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kindling.ingest.user_files import read_user_file

DATA = Path(__file__).resolve().parents[2] / "prompts" / "tasks" / "slogans-en" / "data"
MAX_LENGTH_RULE_ACCURACY = 0.65


def _rows(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _key(text: Any) -> str:
    return " ".join(str(text).lower().split())


def best_threshold_accuracy(lengths: list[int], labels: list[int]) -> float:
    """The best accuracy of any rule "good iff length > t" or "good iff length <= t"."""
    n = len(lengths)
    best = 0.0
    for t in {-1, *lengths}:
        agree = sum((x > t) == (y == 1) for x, y in zip(lengths, labels, strict=True)) / n
        best = max(best, agree, 1 - agree)
    return best


def test_counts_and_balance() -> None:
    labelled = _rows("labelled.jsonl")
    assert len(labelled) >= 160
    good = sum(r["label"] == 1 for r in labelled)
    assert 0.45 <= good / len(labelled) <= 0.55
    assert len(_rows("prompts.jsonl")) >= 60
    assert len(_rows("sft.jsonl")) >= 80


def test_every_line_has_its_fields() -> None:
    for row in _rows("labelled.jsonl"):
        assert set(row) == {"query", "response", "label", "why"}, row
        assert row["label"] in (0, 1), row
        assert all(isinstance(row[k], str) and row[k].strip() for k in ("query", "response", "why"))
        assert str(row["why"]).startswith("good" if row["label"] == 1 else "bad"), row
    for row in _rows("prompts.jsonl"):
        assert set(row) == {"query"} and isinstance(row["query"], str) and row["query"].strip()
    for row in _rows("sft.jsonl"):
        assert set(row) == {"query", "response"}, row
        assert all(isinstance(row[k], str) and row[k].strip() for k in ("query", "response"))


def test_no_duplicates_within_a_file() -> None:
    pairs = [(_key(r["query"]), _key(r["response"])) for r in _rows("labelled.jsonl")]
    assert len(pairs) == len(set(pairs))
    responses = [_key(r["response"]) for r in _rows("labelled.jsonl") + _rows("sft.jsonl")]
    assert len(responses) == len(set(responses))
    prompts = [_key(r["query"]) for r in _rows("prompts.jsonl")]
    assert len(prompts) == len(set(prompts))
    sft = [_key(r["query"]) for r in _rows("sft.jsonl")]
    assert len(sft) == len(set(sft))


def test_no_query_shared_between_files() -> None:
    queries = {name: {_key(r["query"]) for r in _rows(name)}
               for name in ("labelled.jsonl", "prompts.jsonl", "sft.jsonl")}
    assert not queries["labelled.jsonl"] & queries["prompts.jsonl"]
    assert not queries["labelled.jsonl"] & queries["sft.jsonl"]
    assert not queries["prompts.jsonl"] & queries["sft.jsonl"]


@pytest.mark.parametrize("unit", ["words", "characters"])
def test_length_alone_does_not_separate_the_labels(unit: str) -> None:
    rows = _rows("labelled.jsonl")
    text = [str(r["response"]) for r in rows]
    lengths = [len(t.split()) if unit == "words" else len(t) for t in text]
    accuracy = best_threshold_accuracy(lengths, [int(r["label"]) for r in rows])
    assert accuracy <= MAX_LENGTH_RULE_ACCURACY, f"a {unit} threshold reaches {accuracy:.1%}"


def test_threshold_rule_finds_a_separable_set() -> None:
    assert best_threshold_accuracy([1, 2, 8, 9], [0, 0, 1, 1]) == 1.0
    assert best_threshold_accuracy([1, 2, 8, 9], [1, 1, 0, 0]) == 1.0


@pytest.mark.parametrize(("name", "shape"), [("labelled.jsonl", "labelled"),
                                             ("prompts.jsonl", "prompts"), ("sft.jsonl", "sft")])
def test_the_importer_reads_every_row(name: str, shape: str) -> None:
    parsed = read_user_file(DATA / name, shape, "slogans-en")
    items = parsed.items["slogans-en"]
    assert len(items) == len(_rows(name))
    if shape == "labelled":
        assert {i.label for i in items} == {0, 1}
