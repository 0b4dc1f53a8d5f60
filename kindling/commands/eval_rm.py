"""`kindling eval rm`: a reward model against held-out pairs and labels, beside length baselines."""

from __future__ import annotations

import typer

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.context import fail
from kindling.options import BANDS_OPTION, TASK_OPTION, parse_edges, parse_run


def rm(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", help="Reward model: a folder written by `kindling train rm` (or a hub id)."),
    pairs_run: int = typer.Option(None, "--pairs-run", parser=parse_run, metavar="RUN", help="Run holding the test pairs (default: the latest import run)."),
    pairs_dataset: str = typer.Option("rm_test", "--pairs-dataset", help="Keep only the run's pairs recorded in this dataset ('' for all)."),
    dataset: str = typer.Option("evaluation_set", help="The labelled dataset for agreement."),
    threshold_split: float = typer.Option(0.3, "--threshold-split", min=0.0, max=1.0, help="Share of the labelled queries on which the score threshold is fitted (evaluated on the rest)."),
    limit: int = typer.Option(None, min=1, help="Use at most this many pairs and labelled items."),
    length_threshold: int = typer.Option(None, "--length-threshold", help=f"Length baseline: predict good iff a response is longer than N (in the task's length unit; default {DEFAULT_THRESHOLD} for greetings-zh, else fitted on the threshold split of the labels)."),
    bands: str = BANDS_OPTION,
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Scoring batch size."),
    max_length: int = typer.Option(512, "--max-length", min=8, help="Truncate scored texts to this many tokens."),
    task: str = TASK_OPTION,
) -> None:
    """Pairwise accuracy on held-out pairs beside "the longer one is chosen", and agreement with
    labels (score threshold fitted on a separate split) beside the length baseline; overall, by
    length band and on responses unseen in RM training (stored as an `eval` run). Lengths are
    in the task's unit (--task, else the one the pairs run recorded, else greetings-zh)."""
    from kindling.services.evaluation import evaluate_and_store_rm
    from kindling.services.task_measures import default_bands, default_threshold, measured_task
    from kindling.store.queries import require_import_run
    from kindling.store.refs import no_run_message
    from kindling.store.reports import get_run
    from kindling.views import print_eval_stored, print_rm_report

    edges = parse_edges(bands) if bands is not None else None
    store = ctx.obj.open_store()
    if pairs_run is None:
        pairs_run = require_import_run(store, "--pairs-run")
    if get_run(store, pairs_run) is None:
        fail(no_run_message(store, pairs_run))
    measured = measured_task(store, pairs_run, task)
    metrics, eval_run = evaluate_and_store_rm(
        store, model, pairs_run=pairs_run, pairs_dataset=pairs_dataset or None, dataset=dataset,
        threshold_split=threshold_split, limit=limit,
        length_threshold=default_threshold(length_threshold, measured),
        edges=edges or default_bands(store, measured, dataset), batch_size=batch_size,
        max_length=max_length, task=measured)
    print_rm_report(model, metrics)
    print_eval_stored(eval_run)
