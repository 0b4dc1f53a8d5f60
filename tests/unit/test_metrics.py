"""Metric functions on hand-worked examples; bands; the deterministic by-query split."""

from __future__ import annotations

import random

import pytest
from kindling.agents.judge.metrics import binary_metrics, length_baseline
from kindling.rl.evaluate.metrics import (
    DEFAULT_BAND_EDGES,
    band_names,
    best_length_threshold,
    judge_report,
    length_bands,
    report_by_band,
)
from kindling.store.eval_data import LabelledItem, split

# 10 items worked by hand: tp = items 0,1,2; fn = 3,9; fp = 4; tn = 5,6,7,8.
Y_TRUE = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
Y_PRED = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]


def test_binary_metrics_hand_worked() -> None:
    m = binary_metrics(Y_TRUE, Y_PRED)
    assert m["confusion"] == {"tp": 3, "fp": 1, "tn": 4, "fn": 2}
    assert m["n"] == 10
    assert m["accuracy"] == pytest.approx(7 / 10)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 5)
    assert m["f1"] == pytest.approx(2 / 3)  # 2·0.75·0.6 / 1.35


def test_binary_metrics_undefined_ratios_are_zero() -> None:
    none_predicted = binary_metrics([1, 0, 1], [0, 0, 0])
    assert none_predicted["precision"] == 0.0 and none_predicted["recall"] == 0.0
    assert none_predicted["f1"] == 0.0 and none_predicted["accuracy"] == pytest.approx(1 / 3)
    no_positives = binary_metrics([0, 0], [0, 0])
    assert (no_positives["accuracy"], no_positives["recall"], no_positives["f1"]) == (1.0, 0.0, 0.0)
    empty = binary_metrics([], [])
    assert empty["n"] == 0 and empty["accuracy"] == 0.0
    assert empty["confusion"] == {"tp": 0, "fp": 0, "tn": 0, "fn": 0}


def test_binary_metrics_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="y_pred has 2"):
        binary_metrics([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="only 0 and 1"):
        binary_metrics([1, 2], [1, 0])


def test_length_baseline_is_strictly_longer_than() -> None:
    assert length_baseline([39, 40, 10, 100]) == [0, 1, 0, 1]  # default threshold 39
    assert length_baseline([5, 6], threshold=5) == [0, 1]


def test_best_length_threshold_hand_worked_with_tie_to_smallest() -> None:
    lengths, labels = [10, 20, 30, 40, 50, 60], [0, 0, 1, 0, 1, 1]
    # correct per threshold: 9→3, 10→4, 20→5, 30→4, 40→5, 50→4, 60→3: 20 and 40 tie
    assert best_length_threshold(lengths, labels) == 20
    assert best_length_threshold([3, 7, 9], [1, 1, 1]) == 2  # everything good: below the shortest
    assert best_length_threshold([3, 7, 9], [0, 0, 0]) == 9  # nothing good: the longest


def test_best_length_threshold_matches_brute_force() -> None:
    rng = random.Random(7)
    for _ in range(50):
        lengths = [rng.randint(1, 30) for _ in range(rng.randint(1, 40))]
        labels = [int(n > 15) if rng.random() < 0.8 else rng.randint(0, 1) for n in lengths]

        def correct(t: int, lengths: list[int] = lengths, labels: list[int] = labels) -> int:
            return sum(p == y for p, y in zip(length_baseline(lengths, t), labels, strict=True))

        brute = max(range(min(lengths) - 1, max(lengths) + 1), key=lambda t: (correct(t), -t))
        assert correct(best_length_threshold(lengths, labels)) == correct(brute)


def test_best_length_threshold_rejects_no_items() -> None:
    with pytest.raises(ValueError, match="no items"):
        best_length_threshold([], [])


def test_bands_names_and_membership() -> None:
    assert DEFAULT_BAND_EDGES == (25, 39, 59)
    assert band_names() == ["≤25", "26–39", "40–59", "≥60"]
    assert length_bands([1, 25, 26, 39, 40, 59, 60, 134]) == [
        "≤25", "≤25", "26–39", "26–39", "40–59", "40–59", "≥60", "≥60"]
    assert length_bands([5, 6], edges=[5]) == ["≤5", "≥6"]
    with pytest.raises(ValueError, match="strictly increasing"):
        band_names([10, 10])
    with pytest.raises(ValueError, match="non-empty"):
        band_names([])


def test_report_by_band_hand_worked() -> None:
    lengths, y_true, y_pred = [20, 30, 45, 70], [0, 1, 1, 0], [0, 1, 0, 1]
    report = report_by_band(y_true, y_pred, lengths, threshold=39, edges=(10, 25, 39, 59))
    assert list(report) == ["≤10", "11–25", "26–39", "40–59", "≥60"]
    assert report["≤10"]["judge"]["n"] == 0 and report["≤10"]["baseline"]["n"] == 0
    assert report["11–25"]["judge"]["confusion"] == {"tp": 0, "fp": 0, "tn": 1, "fn": 0}
    assert report["11–25"]["baseline"]["accuracy"] == 1.0
    # 26–39: the judge says good (right), the baseline says short = bad (wrong)
    assert report["26–39"]["judge"]["confusion"]["tp"] == 1
    assert report["26–39"]["baseline"]["confusion"]["fn"] == 1
    assert report["26–39"]["baseline"]["accuracy"] == 0.0
    assert report["40–59"]["judge"]["accuracy"] == 0.0 and report["40–59"]["baseline"]["recall"] == 1.0
    assert report["≥60"]["judge"]["confusion"]["fp"] == 1
    assert report["≥60"]["baseline"]["confusion"]["fp"] == 1


def test_judge_report_overall_baseline_and_unseen() -> None:
    lengths = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    unseen = [True, False] * 5  # items 0, 2, 4, 6, 8
    report = judge_report(Y_TRUE, Y_PRED, lengths, unseen, threshold=39)
    assert report["overall"] == binary_metrics(Y_TRUE, Y_PRED)
    # baseline predicts [0,0,0,1,1,1,1,1,1,1]: tp = items 3, 9; fp = 4..8; fn = 0, 1, 2
    assert report["baseline"]["confusion"] == {"tp": 2, "fp": 5, "tn": 0, "fn": 3}
    assert report["baseline"]["accuracy"] == pytest.approx(0.2)
    # unseen items 0,2,4,6,8: true [1,1,0,0,0], judge [1,1,1,0,0] → tp 2, fp 1, tn 2
    assert report["unseen"]["judge"]["confusion"] == {"tp": 2, "fp": 1, "tn": 2, "fn": 0}
    assert report["unseen"]["baseline"]["confusion"] == {"tp": 0, "fp": 3, "tn": 0, "fn": 2}
    assert set(report["bands"]) == set(band_names())
    with pytest.raises(ValueError, match="unseen has 1"):
        judge_report(Y_TRUE, Y_PRED, lengths, [True])


def _items(n_queries: int, per_query: int) -> list[LabelledItem]:
    return [LabelledItem(q, q * 10 + r, f"query {q}", f"response {q}.{r}", r % 2, 10 + r, False)
            for q in range(n_queries) for r in range(per_query)]


def test_split_by_query_is_deterministic_and_order_free() -> None:
    items = _items(40, 3)
    first, second = split(items, 0.25, seed=1)
    assert (first, second) == split(items, 0.25, seed=1)
    assert len({i.query for i in first}) == 10 and len({i.query for i in second}) == 30
    assert not {i.query for i in first} & {i.query for i in second}
    assert len(first) + len(second) == len(items)
    shuffled = list(reversed(items))
    again = split(shuffled, 0.25, seed=1)
    assert {i.response_id for i in again[0]} == {i.response_id for i in first}
    assert split(items, 0.25, seed=2)[0] != first
    assert split(items, 0.0)[0] == [] and split(items, 1.0)[1] == []
    with pytest.raises(ValueError, match="between 0 and 1"):
        split(items, 1.5)
