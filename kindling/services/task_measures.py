"""How the eval commands measure text for a task: which task, the length rule's threshold and
the length bands, all in the task's length unit.

- The task: `--task`, else the one the evaluated run recorded, else greetings-zh.
- The length rule's threshold: the one given, else 39 characters for greetings-zh (the paper's
  rule), else fitted on the task's labelled data (`length_threshold_on_labels`).
- The length bands: the ones given, else (25, 39, 59) for a task counted in characters (chosen on
  the paper's data), else the quartiles of the labelled lengths in words (`word_bands`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.agents.language import text_length
from kindling.agents.task import DEFAULT_TASK, Task, TaskError, resolve_task
from kindling.rl.evaluate.metrics import DEFAULT_BAND_EDGES
from kindling.store.db import Store
from kindling.store.errors import EmptyDataError

WORD_BAND_EDGES: tuple[int, ...] = (4, 7, 10)
"""Word bands when a words task has too few labelled lengths to cut into quartiles: ≤4, 5–7,
8–10, ≥11 words (short slogans and headlines)."""


def measured_task(store: Store | None, run_id: int | None, task: str | None) -> Task:
    """The task whose language and unit the figures use: `task`, else the one run `run_id`
    recorded (if it still loads), else greetings-zh."""
    from kindling.agents.task_ref import recorded_task
    from kindling.store.reports import get_run

    if task is None and store is not None and run_id is not None:
        run = get_run(store, run_id)
        found = recorded_task(run.config if run is not None else None)
        task = found["name"] if found is not None and _loads(found["name"]) else None
    return resolve_task(task)


def _loads(name: str) -> bool:
    try:
        resolve_task(name)
    except TaskError:
        return False
    return True


def default_threshold(given: int | None, task: Task) -> int | None:
    """The threshold given, else 39 for the paper's task, else None (to be fitted on labels)."""
    if given is not None:
        return given
    return DEFAULT_THRESHOLD if task.name == DEFAULT_TASK else None


def length_rule(store: Store, task: Task, given: int | None, dataset: str,
                limit: int | None = None) -> dict[str, Any]:
    """The length rule's threshold in the task's unit and where it came from.

    Returns:
        {"threshold", "unit", "source": "given" | "paper" | "fitted"}, and for a fitted one its
        accuracy, the items and the dataset it was fitted on.

    Raises:
        EmptyDataError: a threshold to fit and no labelled items in `dataset` (says how to give one).
    """
    from kindling.rl.evaluate.policy import length_threshold_on_labels

    threshold = default_threshold(given, task)
    if threshold is not None:
        return {"threshold": threshold, "unit": task.length_unit,
                "source": "given" if given is not None else "paper"}
    try:
        fit = length_threshold_on_labels(store, dataset, length_unit=task.length_unit,
                                         limit=limit)
    except EmptyDataError as exc:
        raise EmptyDataError(f"task {task.name}: the length rule's threshold is fitted on labelled "
                         f"data: {exc} (--length-threshold N gives one)") from exc
    return {**fit, "threshold": fit["threshold"], "unit": task.length_unit, "source": "fitted"}


def word_bands(lengths: Sequence[int]) -> tuple[int, ...]:
    """Band edges at the quartiles of `lengths` (rounded, strictly increasing); WORD_BAND_EDGES
    when there are fewer than 4 lengths or the quartiles do not give two distinct edges."""
    if len(lengths) < 4:
        return WORD_BAND_EDGES
    cuts = statistics.quantiles(lengths, n=4)
    edges = tuple(sorted({max(1, round(c)) for c in cuts}))
    return edges if len(edges) >= 2 else WORD_BAND_EDGES


def default_bands(store: Store, task: Task, dataset: str) -> tuple[int, ...]:
    """The length bands for a task: (25, 39, 59) characters for a chars task, else the
    quartiles of `dataset`'s labelled lengths in words (`word_bands`)."""
    if task.length_unit == "chars":
        return DEFAULT_BAND_EDGES
    from kindling.store.eval_data import labelled_items

    return word_bands([text_length(i.response, "words")
                       for i in labelled_items(store, dataset)])

