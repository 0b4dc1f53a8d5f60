"""Evaluate a judge (a curate run's verdicts or a judge run's judgments) against labelled data.

The protocol (rl/evaluate/protocol.py) gives the figures; this reads the predictions from the
store and stores the figures as an `eval` run. `kindling eval judge` calls it; so can a notebook:

    from kindling.services.judge_eval import evaluate_judge_run
    evaluation = evaluate_judge_run(store, "judge", 12)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.agents.language import DEFAULT_UNIT
from kindling.agents.task import Task
from kindling.agents.task_ref import TASK_KEY, task_record
from kindling.rl.evaluate.metrics import DEFAULT_BAND_EDGES
from kindling.rl.evaluate.protocol import evaluate_predictions
from kindling.store import work
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.eval_data import (
    JudgeScope,
    curate_predictions,
    judge_predictions,
    judge_run_scope,
    labelled_items,
)
from kindling.store.eval_names import eval_run_name
from kindling.store.models import Run, utcnow
from kindling.store.queries import dataset_response_items
from kindling.store.refs import no_run_message
from kindling.store.reports import get_run
from kindling.store.version import code_version


@dataclass(frozen=True)
class JudgeEvaluation:
    """The protocol's figures for one run, the stored `eval` run, and a note on how predictions
    were matched (None when there is nothing to say)."""

    metrics: dict[str, Any]
    eval_run_id: int
    note: str | None


def evaluate_judge_run(store: Store, source: str, run_id: int, *,
                       dataset: str = "evaluation_set", threshold: int | None = DEFAULT_THRESHOLD,
                       edges: Sequence[int] = DEFAULT_BAND_EDGES,
                       length_unit: str = DEFAULT_UNIT,
                       task: Task | None = None) -> JudgeEvaluation:
    """A `curate` or `judge` run's predictions against `dataset`'s labels, stored as `eval`.

    The length baseline's `threshold` is in `length_unit` (39 characters: the paper data's
    rule); None fits it on the dataset's labels (rl/evaluate/protocol.py). A `task` sets the
    unit (over `length_unit`) and is recorded with the eval run (`task_used`).

    Raises:
        UserError: no such run, a run of another kind, no labelled items, no usable predictions.
    """
    started = utcnow()
    run = _checked_run(store, run_id, source)
    items = labelled_items(store, dataset)
    if not items:
        raise UserError(f"no labelled items in dataset {dataset!r} (import the data first: "
                        "`kindling data import --from DIR`)")
    scope, note = None, None
    if source == "curate":
        preds = curate_predictions(store, run_id, items)
    else:
        scope, judged, note = _judge_scope(store, run, dataset)
        run_items = items if judged is None else [i for i in items if i.response_id in judged]
        preds = judge_predictions(store, run_id, run_items, scope)
    if not preds.predicted:
        raise UserError(f"{source} run {run_id} has no usable predictions for the labelled items "
                        f"of {dataset!r} ({len(preds.failed)} failed, {preds.outside} outside it)")
    if task is not None:
        length_unit = task.length_unit
    metrics = evaluate_predictions(items, preds, threshold=threshold, edges=edges,
                                   length_unit=length_unit)
    config = {"source": source, "ids": [run_id], "threshold": metrics["threshold"],
              "dataset": dataset, "band_edges": list(edges),
              "scope": asdict(scope) if scope is not None else None,
              **({TASK_KEY: task_record(task)} if task is not None else {})}
    eval_run, _ = work.get_or_create_run(store, kind="eval", run_key=None, config=config,
                                         code_version=code_version(),
                                         name=eval_run_name(config), started_at=started)
    work.finish_run(store, eval_run.id, "finished", metrics)
    return JudgeEvaluation(metrics, eval_run.id, note)


def _checked_run(store: Store, run_id: int, kind: str) -> Run:
    run = get_run(store, run_id)
    if run is None:
        raise UserError(no_run_message(store, run_id))
    if run.kind != kind:
        raise UserError(f"run {run_id} is a {run.kind!r} run, not a {kind!r} run")
    return run


def judged_dataset(store: Store, run_id: int) -> str | None:
    """The dataset a judge run judged (`--dataset`), None for a file, a curate run or no run."""
    from kindling.store.reports import get_run

    run = get_run(store, run_id)
    source = (run.config.get("input") or {}) if run is not None and run.kind == "judge" else {}
    return source.get("dataset")


def _judge_scope(store: Store, run: Run, dataset: str
                 ) -> tuple[JudgeScope | None, set[int] | None, str | None]:
    """How to find a judge run's predictions: (scope, the response ids it judged, a note).

    Judgments are a cache keyed by (principle version, model, samples, texts): one reused from
    an earlier run keeps that run's id, and a failed one is not stored. A run over (a slice of)
    the labelled dataset is read by its scope and its slice, so cached judgments count as its
    predictions and a missing one as failed; any other run by the judgments carrying its id,
    with a warning when it reused or lost some.
    """
    source = run.config.get("input") or {}
    if source.get("dataset") == dataset:
        scope = judge_run_scope(store, run.id, run.config, run.metrics)
        if scope is not None:
            rows = dataset_response_items(store, dataset, int(source.get("offset") or 0),
                                          source.get("limit"))
            return scope, {r["response_id"] for r in rows}, (
                f"judge run {run.id} judged {len(rows)} responses of {dataset}: its predictions "
                f"are the judgments stored under principle version "
                f"{scope.principle_version_id}, model {scope.model}, {scope.samples} sample(s), "
                "cached ones included")
    reused, lost = (int(run.metrics.get(key) or 0) for key in ("cached", "failed"))
    if reused or lost:
        return None, None, (
            f"[yellow]warning:[/] judge run {run.id} reused {reused} cached judgments (they keep "
            f"the id of the run that made them) and {lost} failed (not stored): only the "
            "judgments carrying its id are evaluated")
    return None, None, None
