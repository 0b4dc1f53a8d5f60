"""How a judge's 0/1 verdicts score against labels, and the length-only predictor beside them.

Defined with the judge because Path B's loop validates each principle version with them; the
evaluation protocol's reports (rl/evaluate/metrics.py: bands, baselines, subsets) build on them.
Labels and predictions are ints, 1 = good; a ratio with a zero denominator is 0.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFAULT_THRESHOLD = 39
"""The paper data's length rule: a response longer than 39 characters is predicted good."""


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
    """The length-only predictor: 1 iff the response is longer than `threshold` characters.

    Args:
        lengths: Response lengths in characters.
        threshold: Longest length still predicted 0.

    Returns:
        One prediction (0 or 1) per length.
    """
    return [1 if n > threshold else 0 for n in lengths]
