"""Pure metric functions for judges and reward models, always reported beside a length baseline.

On the paper data, length alone predicts the labels ("longer than 39 characters means good" agrees
with about 90% of the evaluation labels), so every figure here comes with the length-only baseline,
within length bands (where length no longer explains the label) and on a subset of choice (e.g. the
responses not seen in reward-model training). Nothing here does I/O.

Conventions:
    Labels and predictions are ints, 1 = good, 0 = not.
    Lengths are in the task's unit (agents/language.py `text_length`): on the paper data, Python
    string lengths (Unicode code points, i.e. Chinese characters), which the default band edges
    and threshold are for.
    A metric whose denominator is zero is 0.0 (precision with no predicted positives, recall with
    no actual positives, F1 when precision + recall is 0, accuracy on no items).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from kindling.agents.judge.metrics import (
    DEFAULT_THRESHOLD,
    Metrics,
    best_length_threshold,
    binary_metrics,
    fit_length_threshold,
    length_baseline,
)

__all__ = ["DEFAULT_BAND_EDGES", "DEFAULT_THRESHOLD", "Metrics", "band_names",
           "best_length_threshold", "binary_metrics", "fit_length_threshold", "judge_report",
           "length_bands", "length_baseline", "report_by_band", "with_baseline"]

DEFAULT_BAND_EDGES: tuple[int, ...] = (25, 39, 59)
"""Inclusive upper bounds of the length bands: ≤25, 26–39, 40–59, ≥60 characters.

Chosen on the paper's evaluation set (1,602 labelled responses, lengths 4–134, quartiles about
24 / 36 / 58): the bands hold 554 / 298 / 293 / 457 responses, the 39-character rule falls on a
band edge (so within a band the baseline is a constant), and every band holds both labels
(positives 39 / 66 / 251 / 440).
"""


def band_names(edges: Sequence[int] = DEFAULT_BAND_EDGES) -> list[str]:
    """Readable names of the bands that `edges` (inclusive upper bounds) cut lengths into.

    Example: (25, 39, 59) -> ["≤25", "26–39", "40–59", "≥60"].

    Raises:
        ValueError: `edges` is empty or not strictly increasing.
    """
    if not edges or any(b <= a for a, b in pairwise(edges)):
        raise ValueError(f"band edges must be non-empty and strictly increasing, got {list(edges)}")
    names = [f"≤{edges[0]}"]
    names += [f"{lo + 1}–{hi}" for lo, hi in pairwise(edges)]
    return [*names, f"≥{edges[-1] + 1}"]


def length_bands(lengths: Sequence[int], edges: Sequence[int] = DEFAULT_BAND_EDGES) -> list[str]:
    """The band name of each length (a length equal to an edge belongs to the band below it).

    Args:
        lengths: Response lengths in characters.
        edges: Inclusive upper bounds of all bands but the last, strictly increasing.

    Returns:
        One name from `band_names(edges)` per length.
    """
    names = band_names(edges)
    return [names[sum(1 for e in edges if n > e)] for n in lengths]


def with_baseline(y_true: Sequence[int], y_pred: Sequence[int], lengths: Sequence[int],
                  threshold: int = DEFAULT_THRESHOLD) -> dict[str, Metrics]:
    """Metrics of the predictions and of the length baseline on the same items.

    Returns:
        {"judge": binary_metrics(y_true, y_pred),
         "baseline": binary_metrics(y_true, length_baseline(lengths, threshold))}.
    """
    return {"judge": binary_metrics(y_true, y_pred),
            "baseline": binary_metrics(y_true, length_baseline(lengths, threshold))}


def report_by_band(y_true: Sequence[int], y_pred: Sequence[int], lengths: Sequence[int], *,
                   threshold: int = DEFAULT_THRESHOLD,
                   edges: Sequence[int] = DEFAULT_BAND_EDGES) -> dict[str, dict[str, Metrics]]:
    """`with_baseline` within each length band, every band present (empty ones with n = 0).

    Args:
        y_true: Gold labels, 0 or 1.
        y_pred: Predictions, 0 or 1.
        lengths: Response lengths in characters.
        threshold: The baseline's threshold.
        edges: Band edges (see `length_bands`).

    Returns:
        {band name: {"judge": metrics, "baseline": metrics}}, bands in increasing length order.
    """
    if not len(y_true) == len(y_pred) == len(lengths):
        raise ValueError("y_true, y_pred and lengths must have the same number of items")
    bands = length_bands(lengths, edges)
    report = {}
    for name in band_names(edges):
        idx = [i for i, b in enumerate(bands) if b == name]
        report[name] = with_baseline([y_true[i] for i in idx], [y_pred[i] for i in idx],
                                     [lengths[i] for i in idx], threshold)
    return report


def judge_report(y_true: Sequence[int], y_pred: Sequence[int], lengths: Sequence[int],
                 unseen: Sequence[bool], *, threshold: int = DEFAULT_THRESHOLD,
                 edges: Sequence[int] = DEFAULT_BAND_EDGES) -> dict[str, Any]:
    """The evaluation protocol's figures: overall, by length band, and on an unseen subset.

    Args:
        y_true: Gold labels, 0 or 1.
        y_pred: Predictions, 0 or 1.
        lengths: Response lengths in characters.
        unseen: Per item, whether it belongs to the unseen subset (e.g. not in RM training pairs).
        threshold: The baseline's threshold.
        edges: Band edges.

    Returns:
        {"overall": judge metrics, "baseline": baseline metrics,
         "bands": report_by_band(...), "unseen": {"judge", "baseline"} on the unseen items}.
    """
    if len(unseen) != len(y_true):
        raise ValueError(f"unseen has {len(unseen)} items but y_true has {len(y_true)}")
    overall = with_baseline(y_true, y_pred, lengths, threshold)
    idx = [i for i, u in enumerate(unseen) if u]
    return {
        "overall": overall["judge"], "baseline": overall["baseline"],
        "bands": report_by_band(y_true, y_pred, lengths, threshold=threshold, edges=edges),
        "unseen": with_baseline([y_true[i] for i in idx], [y_pred[i] for i in idx],
                                [lengths[i] for i in idx], threshold),
    }
