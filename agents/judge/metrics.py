"""How a judge's 0/1 verdicts score against labels, and the length-only predictor beside them.

Defined with the judge because Path B's loop validates each principle version with them; the
evaluation protocol's reports (rl/evaluate/metrics.py: bands, baselines, subsets) build on them.
Labels and predictions are ints, 1 = good; a ratio with a zero denominator is 0.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kindling.agents.language import DEFAULT_UNIT, check_unit, text_length

DEFAULT_THRESHOLD = 39
"""The paper data's length rule: a response longer than 39 characters is predicted good.

It is the rule the paper data's README quotes (about 90% agreement). Fitted on the evaluation set
as imported (1,602 labelled responses), `fit_length_threshold` gives 36 characters, at 90.0%
against 89.8% for 39: the two rules differ by a quarter of a point. 39 stays the default so the
paper's figures do not change; a task of your own gives its threshold or has it fitted.
"""


Metrics = dict[str, Any]


def check_binary(name: str, values: Sequence[int]) -> None:
    bad = [v for v in values if v not in (0, 1)]
    if bad:
        raise ValueError(f"{name} must hold only 0 and 1, got {bad[0]!r}")


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def binary_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> Metrics:
    """Accuracy, precision, recall and F1 of binary predictions, with the confusion matrix.

    The positive class is 1 (good). Undefined ratios are 0.0 (see the module docstring).

    Args:
        y_true: Gold labels, 0 or 1.
        y_pred: Predictions, 0 or 1, aligned with `y_true`.

    Returns:
        {"n", "accuracy", "precision", "recall", "f1", "confusion": {"tp", "fp", "tn", "fn"}}.

    Raises:
        ValueError: The sequences differ in length or hold values other than 0 and 1.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    check_binary("y_true", y_true)
    check_binary("y_pred", y_pred)
    pairs = list(zip(y_true, y_pred, strict=True))
    tp = sum(1 for t, p in pairs if t == 1 and p == 1)
    fp = sum(1 for t, p in pairs if t == 0 and p == 1)
    tn = sum(1 for t, p in pairs if t == 0 and p == 0)
    fn = sum(1 for t, p in pairs if t == 1 and p == 0)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)  # = 2PR/(P+R), and 0.0 when both are 0
    return {"n": len(pairs), "accuracy": _ratio(tp + tn, len(pairs)), "precision": precision,
            "recall": recall, "f1": f1, "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn}}


def length_baseline(lengths: Sequence[int], threshold: int = DEFAULT_THRESHOLD) -> list[int]:
    """The length-only predictor: 1 iff the response is longer than `threshold` (characters on
    the paper data; whatever unit `lengths` are in).

    Args:
        lengths: Response lengths, in the unit of `threshold`.
        threshold: Longest length still predicted 0.

    Returns:
        One prediction (0 or 1) per length.
    """
    return [1 if n > threshold else 0 for n in lengths]


def best_length_threshold(lengths: Sequence[int], labels: Sequence[int]) -> int:
    """The threshold whose length baseline is most accurate on (lengths, labels).

    Fit it on a split separate from the items you evaluate: fitted on the evaluated items it
    flatters the baseline. Candidates are one below the shortest length (everything predicted 1)
    and every distinct length (the longest predicts everything 0); ties go to the smallest.

    Args:
        lengths: Response lengths (in the task's unit).
        labels: Gold labels, 0 or 1, aligned with `lengths`.

    Returns:
        The threshold t maximizing the accuracy of "good iff length > t".

    Raises:
        ValueError: No items, sequences of different lengths, or labels other than 0 and 1.
    """
    if not lengths:
        raise ValueError("cannot fit a length threshold on no items")
    if len(lengths) != len(labels):
        raise ValueError(f"lengths has {len(lengths)} items but labels has {len(labels)}")
    check_binary("labels", labels)
    candidates = sorted({min(lengths) - 1, *lengths})
    # Sweep thresholds upwards: raising t past length L flips items of length L to predicted 0.
    by_length: dict[int, list[int]] = {}
    for n, y in zip(lengths, labels, strict=True):
        by_length.setdefault(n, []).append(y)
    correct = sum(labels)  # t below every length: all predicted 1, right on the positives
    best_t, best_correct = candidates[0], correct
    for t in candidates[1:]:
        ys = by_length[t]
        correct += ys.count(0) - ys.count(1)
        if correct > best_correct:
            best_t, best_correct = t, correct
    return best_t


@dataclass(frozen=True)
class LengthFit:
    """The most accurate length-only rule on a labelled set: good iff length > `threshold`."""

    threshold: int
    accuracy: float
    unit: str
    items: int

    def as_dict(self) -> dict[str, Any]:
        """The fit as stored with a run's metrics."""
        return {"threshold": self.threshold, "accuracy": self.accuracy, "unit": self.unit,
                "items": self.items}


def fit_length_threshold(items: Iterable[tuple[str, int]],
                         unit: str = DEFAULT_UNIT) -> LengthFit:
    """The length baseline's threshold fitted on a task's own labelled data, and its accuracy.

    Lengths are `text_length(response, unit)`; the threshold is `best_length_threshold`'s (ties
    to the smallest). On the paper's evaluation set (chars) it is 36, at 90.0% (39, the default,
    gives 89.8%). Fitted on the items you then evaluate, it flatters the baseline: the judge is
    compared with the best a length rule could do on them.

    Args:
        items: (response, label) pairs, label 1 = good, 0 = not.
        unit: "chars" or "words".

    Returns:
        The threshold, its accuracy on `items`, the unit and the number of items.

    Raises:
        ValueError: no items, labels other than 0 and 1, or an unknown unit.
    """
    check_unit(unit)
    pairs = list(items)
    lengths = [text_length(response, unit) for response, _ in pairs]
    labels = [label for _, label in pairs]
    threshold = best_length_threshold(lengths, labels)
    accuracy = binary_metrics(labels, length_baseline(lengths, threshold))["accuracy"]
    return LengthFit(threshold, accuracy, unit, len(pairs))
