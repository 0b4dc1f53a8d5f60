"""Each evaluator's agreement with the labelled set, measured the clean way.

The items are labelled responses Path B never saw: its split puts validation queries first, the
loop validates on the first `validation_size` of them and reflects on the other side, so the
validation side past `validation_size` is untouched. Each figure stands beside the length rule on
the same items (in the task's unit: 39 characters for greetings-zh, else fitted on the fit items) and says how many of the items' texts the evaluator met in training (the RM's
pairs): "seen" figures measure memory, not judgment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kindling.agents.adversarial.config import AdversarialConfig
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.metrics import DEFAULT_THRESHOLD, fit_length_threshold
from kindling.agents.language import text_length
from kindling.agents.task import Task
from kindling.rl.evaluate.metrics import with_baseline
from kindling.services.judge import execute_judge
from kindling.services.task_measures import default_threshold
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.eval_data import LabelledItem, labelled_items, split
from kindling.store.pairs import iter_pair_texts

PAPER_RULE = {"threshold": DEFAULT_THRESHOLD, "unit": "chars", "source": "paper"}
"""The length rule on the paper's data: longer than 39 characters."""

FIT_ITEMS = 256
"""Most labelled items (outside the measured ones) the RM's score threshold is fitted on."""


def clean_items(store: Store, path_b: AdversarialConfig,
                n: int) -> tuple[list[LabelledItem], list[LabelledItem]]:
    """(up to `n` labelled items Path B never saw, the items to fit a threshold on).

    Raises:
        UserError: no labelled items, or none left outside Path B's.
    """
    items = labelled_items(store, path_b.labelled_dataset)
    validation, reflection = split(items, path_b.validation_fraction, path_b.seed)
    untouched = validation[path_b.validation_size:]
    if not untouched:
        raise UserError(f"no labelled items of {path_b.labelled_dataset!r} are left outside Path "
                        "B's validation and reflection: lower path_b validation_size")
    return untouched[:n], (reflection + validation[:path_b.validation_size])[:FIT_ITEMS]


def length_rule_on(task: Task, fit: list[LabelledItem]) -> dict[str, Any]:
    """The length rule the figures stand beside, in the task's unit: 39 characters for
    greetings-zh, else fitted on `fit` (never on the measured items)."""
    threshold = default_threshold(None, task)
    if threshold is not None:
        return {"threshold": threshold, "unit": task.length_unit, "source": "paper"}
    if not fit:
        raise UserError("no labelled items to fit the length rule's threshold on")
    got = fit_length_threshold([(i.response, i.label) for i in fit], task.length_unit)
    return {**got.as_dict(), "source": "fitted"}


def _figures(items: list[LabelledItem], predicted: list[int | None],
             seen_texts: set[str], rule: dict[str, Any]) -> dict[str, Any]:
    scored = [(i, p) for i, p in zip(items, predicted, strict=True) if p is not None]
    if not scored:
        return {"n": 0, "failed": len(items)}
    figures = with_baseline([i.label for i, _ in scored], [int(p) for _, p in scored],
                            [text_length(i.response, rule["unit"]) for i, _ in scored],
                            rule["threshold"])
    return {"n": len(scored), "failed": len(items) - len(scored),
            "positives": sum(i.label for i, _ in scored),
            "seen": sum(1 for i, _ in scored if i.response in seen_texts),
            "accuracy": figures["judge"]["accuracy"], "f1": figures["judge"]["f1"],
            "length_accuracy": figures["baseline"]["accuracy"],
            "length_f1": figures["baseline"]["f1"]}


def judge_agreement(store: Store, cfg: JudgeConfig, items: list[LabelledItem],
                    rule: dict[str, Any] | None = None) -> dict[str, Any]:
    """The judge's verdicts on `items` (a `judge` run) against their labels."""
    from kindling.agents.judge.service import resolve_judge

    outcome = execute_judge(store, resolve_judge(store, cfg), [(i.query, i.response) for i in items],
                            {"experiment": "agreement", "items": len(items)}, progress=False)
    figures = _figures(items, [r.verdict for r in outcome.results], set(), rule or PAPER_RULE)
    return {**figures, "judge_run": outcome.run_id}


def pair_texts(store: Store, pairs_runs: Iterable[int]) -> set[str]:
    """Every chosen and rejected text of the given pairs (or import) runs."""
    return {text for run in pairs_runs for _, chosen, rejected in iter_pair_texts(store, run)
            for text in (chosen, rejected)}


def rm_agreement(rm_path: str, items: list[LabelledItem], fit: list[LabelledItem],
                 seen_texts: set[str], rule: dict[str, Any] | None = None,
                 batch_size: int = 32) -> dict[str, Any]:
    """The RM's "good iff score > t" (t fitted on `fit`, never on `items`) against the labels."""
    from kindling.rl.evaluate.reward_model import (
        best_score_threshold,
        score_predictions,
        score_texts,
    )
    from kindling.rl.reward_model import load_reward_model

    if not fit:
        raise UserError("no labelled items to fit the reward model's threshold on")
    model, tokenizer = load_reward_model(rm_path)
    fit_scores = score_texts(model, tokenizer, [i.query for i in fit], [i.response for i in fit],
                             batch_size=batch_size)
    threshold = best_score_threshold(fit_scores, [i.label for i in fit])
    scores = score_texts(model, tokenizer, [i.query for i in items],
                         [i.response for i in items], batch_size=batch_size)
    predicted: list[int | None] = list(score_predictions(scores, threshold))
    return {**_figures(items, predicted, seen_texts, rule or PAPER_RULE), "threshold": threshold}
