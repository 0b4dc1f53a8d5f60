"""`kindling eval ...`: evaluate judges against labelled data (length-only baseline beside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.agents.language import unit_name
from kindling.context import console, fail
from kindling.options import BANDS_OPTION, TASK_OPTION, parse_edges, parse_run
from kindling.views import add_metric_rows

app = typer.Typer(help="Evaluate judges, reward models and policies (the length-only baseline beside every figure).", no_args_is_help=True)


@app.command("judge")
def judge(
    ctx: typer.Context,
    curate_run: int = typer.Option(None, "--curate-run", parser=parse_run, metavar="RUN", help="A curate run (Path A): its final verdicts are the predictions."),
    judge_run: int = typer.Option(None, "--judge-run", parser=parse_run, metavar="RUN", help="A judge run: its judgments are the predictions, matched to labelled items by text."),
    principles: str = typer.Option(None, "--principles", help="A detector principle version (id, name or YAML path): judge the labelled dataset with it first (a new judge run, cached), then evaluate."),
    judge_config: Path = typer.Option(None, "--judge-config", "--config", "-c", help="--principles: YAML with JudgeConfig fields (the judge's model, samples, ...)."),
    sets: list[str] = typer.Option([], "--set", help="--principles: any JudgeConfig field as dotted key=value, e.g. --set llm.backend=openai."),
    limit: int = typer.Option(None, min=1, help="--principles: judge at most this many labelled responses."),
    dataset: str = typer.Option(None, help="The labelled dataset to evaluate against (default: the one a --judge-run judged, else evaluation_set, the paper's)."),
    length_threshold: int = typer.Option(None, "--length-threshold", help=f"Length baseline: predict good iff a response is longer than N (in the task's length unit; default {DEFAULT_THRESHOLD} for greetings-zh, else fitted on the labels)."),
    bands: str = BANDS_OPTION,
    task: str = TASK_OPTION,
) -> None:
    """Accuracy, precision, recall and F1 of a judge, beside the length-only baseline,
    overall, within length bands and on responses not seen in RM training pairs (stored as an
    `eval` run)."""
    from kindling.services.judge_eval import evaluate_judge_run

    sources = [s for s in (curate_run, judge_run, principles) if s is not None]
    if len(sources) != 1:
        fail("give exactly one of --curate-run, --judge-run, --principles")
    from kindling.services.task_measures import default_bands, default_threshold, measured_task

    edges = parse_edges(bands) if bands is not None else None
    store = ctx.obj.open_store()
    if dataset is None:
        from kindling.services.judge_eval import judged_dataset

        dataset = (judged_dataset(store, judge_run) if judge_run is not None else None
                   ) or "evaluation_set"
    if principles is not None:
        judge_run = _judge_with(store, principles, judge_config, sets, dataset, limit, task)
    source, run_id = ("curate", curate_run) if curate_run is not None else ("judge", judge_run)
    assert run_id is not None
    measured = measured_task(store, run_id, task)
    evaluation = evaluate_judge_run(store, source, run_id, dataset=dataset,
                                    threshold=default_threshold(length_threshold, measured),
                                    edges=edges or default_bands(store, measured, dataset),
                                    task=measured)
    if evaluation.note:
        console.print(evaluation.note, highlight=False)
    print_report(source, run_id, dataset, evaluation.metrics)
    console.print(f"eval run {evaluation.eval_run_id} stored")


def _judge_with(store: Any, principles: str, config: Path | None, sets: list[str],
                dataset: str, limit: int | None, task: str | None = None) -> int:
    """Judge the dataset's labelled responses under a principle version; the new judge run's id."""
    from kindling.agents.config import load_config, parse_sets
    from kindling.agents.judge.config import JudgeConfig
    from kindling.agents.judge.service import resolve_judge
    from kindling.services.judge import dataset_items, execute_judge
    from kindling.views import print_judge_summary

    cfg = load_config(JudgeConfig, config, {"principles": principles, "task": task,
                                            **parse_sets(sets)})
    items = dataset_items(store, dataset, 0, limit)
    source = {"dataset": dataset, "offset": 0, "limit": limit}
    outcome = execute_judge(store, resolve_judge(store, cfg), items, source)
    print_judge_summary(outcome)
    return outcome.run_id


def print_report(source: str, run_id: int, dataset: str, metrics: dict[str, Any]) -> None:
    """Coverage, then one table: a judge row and baseline rows overall, per band, and unseen."""
    cov, base = metrics["coverage"], f"len>{metrics['threshold']}"
    console.print(
        f"[bold]{source} run {run_id}[/] on {dataset}: {cov['labelled']} labelled items, "
        f"{cov['scored']} scored, {cov['failed']} failed verdicts (not scored), "
        f"{cov['unjudged']} not judged yet, {cov['outside']} predictions outside the labelled set"
        + (f", {cov['flagged']} flagged" if cov["flagged"] else ""))
    table = Table(title=f"{source} run {run_id} vs labels", box=box.SIMPLE_HEAD,
                  collapse_padding=True, pad_edge=False,
                  caption=f"{base}: length-only baseline (good iff longer than "
                          f"{metrics['threshold']} {unit_name(metrics.get('length_unit', 'chars'))}); "
                          "unseen: not in RM training pairs")
    for col in ("subset", "predictor", "n", "pos", "acc", "prec", "rec", "F1",
                "tp", "fp", "tn", "fn"):
        table.add_column(col, justify="left" if col in ("subset", "predictor") else "right",
                         no_wrap=True)
    fitted = metrics["fitted"]
    overall = [("judge", metrics["overall"]), (base, metrics["baseline"])]
    if fitted:
        overall.append((f"len>{fitted['threshold']} fit", fitted["baseline"]))
    add_metric_rows(table, "all", overall)
    for band, pair in metrics["bands"].items():
        add_metric_rows(table, band, [("judge", pair["judge"]), (base, pair["baseline"])])
    add_metric_rows(table, "unseen", [("judge", metrics["unseen"]["judge"]),
                                (base, metrics["unseen"]["baseline"])])
    console.print(table)
    if fitted:
        console.print(f"fitted threshold {fitted['threshold']} on {fitted['fit_items']} held-out "
                      f"items (queries the run did not see; accuracy there "
                      f"{fitted['fit_accuracy']:.3f})")
    else:
        console.print("no fitted threshold: the run saw every labelled query, none is held out")
