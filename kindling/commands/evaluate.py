"""`kindling eval ...`: evaluate judges against labelled data (length-only baseline beside)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from agents.config import ConfigError, load_config, parse_sets
from agents.judge.config import JudgeConfig
from agents.judge.metrics import DEFAULT_THRESHOLD
from agents.llm.endpoints import LLMConfigError
from agents.templates import PromptError
from kindling.context import console, fail
from kindling.options import parse_edges
from kindling.services.judge import dataset_items, execute_judge
from kindling.views import add_metric_rows, print_judge_summary
from rl.evaluate.metrics import DEFAULT_BAND_EDGES
from rl.evaluate.protocol import evaluate_predictions
from store import work
from store.db import Store
from store.eval_data import (
    JudgeScope,
    curate_predictions,
    judge_predictions,
    judge_run_scope,
    labelled_items,
)
from store.models import Run
from store.principles import PrincipleNotFound
from store.queries import dataset_response_items
from store.reports import get_run
from store.version import code_version

app = typer.Typer(help="Evaluate judges, reward models and policies (the length-only baseline beside every figure).", no_args_is_help=True)


@app.command("judge")
def judge(
    ctx: typer.Context,
    curate_run: int = typer.Option(None, "--curate-run", help="A curate run (Path A): its final verdicts are the predictions."),
    judge_run: int = typer.Option(None, "--judge-run", help="A judge run: its judgments are the predictions, matched to labelled items by text."),
    principles: str = typer.Option(None, "--principles", help="A detector principle version (id, name or YAML path): judge the labelled dataset with it first (a new judge run, cached), then evaluate."),
    judge_config: Path = typer.Option(None, "--judge-config", help="--principles: YAML with JudgeConfig fields (the judge's model, samples, ...)."),
    sets: list[str] = typer.Option([], "--set", help="--principles: any JudgeConfig field as dotted key=value, e.g. --set llm.backend=openai."),
    limit: int = typer.Option(None, min=1, help="--principles: judge at most this many labelled responses."),
    dataset: str = typer.Option("evaluation_set", help="The labelled dataset to evaluate against."),
    length_threshold: int = typer.Option(DEFAULT_THRESHOLD, "--length-threshold", help="Length baseline: predict good iff a response is longer than N characters."),
    bands: str = typer.Option(",".join(map(str, DEFAULT_BAND_EDGES)), help="Length band edges, inclusive upper bounds (25,39,59 → ≤25, 26–39, 40–59, ≥60)."),
) -> None:
    """Accuracy, precision, recall and F1 of a judge, beside the length-only baseline,
    overall, within length bands and on responses not seen in RM training pairs (stored as an
    `eval` run)."""
    sources = [s for s in (curate_run, judge_run, principles) if s is not None]
    if len(sources) != 1:
        fail("give exactly one of --curate-run, --judge-run, --principles")
    edges = parse_edges(bands)
    store: Store = ctx.obj.open_store()
    if principles is not None:
        judge_run = _judge_with(store, principles, judge_config, sets, dataset, limit)
    source, run_id = ("curate", curate_run) if curate_run is not None else ("judge", judge_run)
    assert run_id is not None
    run = _checked_run(store, run_id, source)
    items = labelled_items(store, dataset)
    if not items:
        fail(f"no labelled items in dataset {dataset!r} (import the data first: "
             "`kindling data import --from DIR`)")
    scope = None
    if source == "curate":
        preds = curate_predictions(store, run_id, items)
    else:
        scope, judged, note = _judge_scope(store, run, dataset)
        run_items = items if judged is None else [i for i in items if i.response_id in judged]
        preds = judge_predictions(store, run_id, run_items, scope)
        if note:
            console.print(note, highlight=False)
    if not preds.predicted:
        fail(f"{source} run {run_id} has no usable predictions for the labelled items of "
             f"{dataset!r} ({len(preds.failed)} failed, {preds.outside} outside it)")
    metrics = evaluate_predictions(items, preds, threshold=length_threshold, edges=edges)
    print_report(source, run_id, dataset, metrics)
    config = {"source": source, "ids": [run_id], "threshold": length_threshold,
              "dataset": dataset, "band_edges": list(edges),
              "scope": asdict(scope) if scope is not None else None}
    eval_run, _ = work.get_or_create_run(store, kind="eval", run_key=None, config=config,
                                         code_version=code_version())
    work.finish_run(store, eval_run.id, "finished", metrics)
    console.print(f"eval run {eval_run.id} stored")


def _judge_with(store: Store, principles: str, config: Path | None, sets: list[str],
                dataset: str, limit: int | None) -> int:
    """Judge the dataset's labelled responses under a principle version; the new judge run's id."""
    try:
        cfg = load_config(JudgeConfig, config, {"principles": principles, **parse_sets(sets)})
        items = dataset_items(store, dataset, 0, limit)
        source = {"dataset": dataset, "offset": 0, "limit": limit}
        outcome = execute_judge(store, cfg, items, source)
    except (ConfigError, PromptError, PrincipleNotFound, LLMConfigError) as exc:
        fail(str(exc))
        raise AssertionError("unreachable") from exc
    print_judge_summary(outcome)
    return outcome.run_id


def _checked_run(store: Store, run_id: int, kind: str) -> Run:
    run = get_run(store, run_id)
    if run is None:
        fail(f"no run with id {run_id}")
        raise AssertionError  # unreachable: fail exits
    if run.kind != kind:
        fail(f"run {run_id} is a {run.kind!r} run, not a {kind!r} run")
    return run


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
                          f"{metrics['threshold']} characters); unseen: not in RM training pairs")
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
