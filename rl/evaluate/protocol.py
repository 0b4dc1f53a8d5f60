"""The evaluation protocol for a judge's 0/1 predictions against labelled items.

Figures overall, within length bands and on responses unseen in RM training, each beside the
length-only baseline, plus a threshold fitted on queries the judge never touched (DESIGN.md's
evaluation protocol). Pure: it reads no store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kindling.agents.judge.metrics import binary_metrics, fit_length_threshold, length_baseline
from kindling.agents.language import DEFAULT_UNIT, text_length
from kindling.rl.evaluate.metrics import best_length_threshold, judge_report
from kindling.store.eval_data import LabelledItem, Predictions


def evaluate_predictions(items: Sequence[LabelledItem], preds: Predictions, *,
                         threshold: int | None, edges: Sequence[int],
                         length_unit: str = DEFAULT_UNIT) -> dict[str, Any]:
    """The protocol's figures for the scored items, plus coverage and a held-out fitted baseline.

    The fitted threshold comes from the labelled items whose query the run did not touch at all,
    so it never sees an evaluated item (nor a sibling response of one).

    Args:
        items: The dataset's labelled items.
        preds: The run's predictions.
        threshold: The length baseline's threshold, in `length_unit`; None fits it on all of
            `items` (`fit_length_threshold`: the best a length rule does on them, flattering).
        edges: Length band edges, in `length_unit`.
        length_unit: "chars" (the paper's task) or "words".
    """
    if threshold is None:
        threshold = fit_length_threshold([(i.response, i.label) for i in items],
                                         length_unit).threshold
    scored = [i for i in items if i.response_id in preds.predicted]
    y_true = [i.label for i in scored]
    lengths = [text_length(i.response, length_unit) for i in scored]
    y_pred = [preds.predicted[i.response_id] for i in scored]
    metrics = judge_report(y_true, y_pred, lengths, [not i.seen_in_rm_train for i in scored],
                           threshold=threshold, edges=edges)
    touched = {i.query_id for i in items if i.response_id in preds.seen}
    held_out = [i for i in items if i.query_id not in touched]
    metrics["threshold"], metrics["fitted"] = threshold, None
    metrics["length_unit"] = length_unit
    if held_out:
        fit_lengths = [text_length(i.response, length_unit) for i in held_out]
        fit_labels = [i.label for i in held_out]
        t = best_length_threshold(fit_lengths, fit_labels)
        metrics["fitted"] = {
            "threshold": t, "fit_items": len(held_out),
            "fit_accuracy": binary_metrics(fit_labels, length_baseline(fit_lengths, t))["accuracy"],
            "baseline": binary_metrics(y_true, length_baseline(lengths, t)),
        }
    metrics["coverage"] = {
        "labelled": len(items), "scored": len(scored), "failed": len(preds.failed),
        "unjudged": len(preds.unjudged), "outside": preds.outside, "flagged": len(preds.flagged),
        "unseen_scored": metrics["unseen"]["judge"]["n"],
    }
    return metrics
