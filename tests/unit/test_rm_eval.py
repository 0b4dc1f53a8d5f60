"""Pure parts of reward-model evaluation: pairwise accuracy, length baseline, score threshold."""

import pytest
from kindling.agents.judge.metrics import binary_metrics
from kindling.rl.evaluate.reward_model import (
    best_score_threshold,
    pairwise_accuracy,
    pairwise_report,
    score_predictions,
)
from kindling.store.eval_data import LabelledItem, split

CHOSEN = [1.0, 0.2, 0.5, 0.3]
REJECTED = [0.0, 0.9, 0.5, 0.1]
CHOSEN_LEN = [30, 10, 50, 70]
REJECTED_LEN = [10, 5, 50, 5]


def test_pairwise_accuracy_beside_the_longer_is_chosen_rule() -> None:
    # RM right on pairs 0 and 3 (pair 2 ties); length right on 0, 1, 3 (pair 2 ties).
    assert pairwise_accuracy(CHOSEN, REJECTED, CHOSEN_LEN, REJECTED_LEN) == {
        "n": 4, "rm": 0.5, "length": 0.75, "rm_ties": 1, "length_ties": 1}


def test_pairwise_report_by_band_of_the_chosen_response_and_unseen() -> None:
    report = pairwise_report(CHOSEN, REJECTED, CHOSEN_LEN, REJECTED_LEN,
                             [True, False, True, False])
    assert report["overall"]["rm"] == 0.5
    bands = report["bands"]
    assert list(bands) == ["≤25", "26–39", "40–59", "≥60"]
    assert [b["n"] for b in bands.values()] == [1, 1, 1, 1]
    assert (bands["≤25"]["rm"], bands["≤25"]["length"]) == (0.0, 1.0)
    assert (bands["40–59"]["rm"], bands["40–59"]["rm_ties"]) == (0.0, 1)
    assert report["unseen"] == {"n": 2, "rm": 0.5, "length": 0.5, "rm_ties": 1, "length_ties": 1}


def test_pairwise_empty_and_mismatched() -> None:
    assert pairwise_accuracy([], [], [], [])["rm"] == 0.0
    with pytest.raises(ValueError):
        pairwise_accuracy([1.0], [], [1], [1])


def test_best_score_threshold_hand_worked() -> None:
    # Cutting above 0.2 predicts [0,0,1,1,1]: 4/5 right; above 0.4 ties at 4/5, the smaller
    # wins, returned as the midpoint to the next score.
    scores, labels = [0.1, 0.2, 0.3, 0.4, 0.5], [0, 0, 1, 0, 1]
    t = best_score_threshold(scores, labels)
    assert t == pytest.approx(0.25)
    assert binary_metrics(labels, score_predictions(scores, t))["accuracy"] == 0.8
    assert best_score_threshold([0.3, 0.7], [1, 1]) == pytest.approx(-0.7)  # all good
    assert best_score_threshold([0.3, 0.7], [0, 0]) == 0.7  # none good
    with pytest.raises(ValueError):
        best_score_threshold([], [])


def test_threshold_fitted_on_a_separate_split_by_query() -> None:
    items = [LabelledItem(q, q * 10 + k, f"q{q}", f"r{k}", label, 10, False)
             for q in range(10) for k, label in ((0, 0), (1, 1))]
    scores = {i.response_id: (0.8 if i.label else 0.2) + i.query_id / 100 for i in items}
    fit, held = split(items, 0.3)
    assert {i.query for i in fit}.isdisjoint({i.query for i in held})
    assert len({i.query for i in fit}) == 3
    t = best_score_threshold([scores[i.response_id] for i in fit], [i.label for i in fit])
    preds = score_predictions([scores[i.response_id] for i in held], t)
    assert binary_metrics([i.label for i in held], preds)["accuracy"] == 1.0
