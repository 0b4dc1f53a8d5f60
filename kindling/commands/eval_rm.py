"""`kindling eval rm`: a reward model against held-out pairs and labels, beside length baselines."""

from __future__ import annotations

from typing import Any

import typer
from rich import box
from rich.table import Table

from agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.commands.evaluate import add_metric_rows, parse_edges
from kindling.context import console, fail
from rl.evaluate.metrics import DEFAULT_BAND_EDGES
from store import work
from store.db import Store
from store.reports import get_run
from store.version import code_version


def rm(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", help="Reward model: a folder written by `kindling train rm` (or a hub id)."),
    pairs_run: int = typer.Option(None, "--pairs-run", help="Run holding the test pairs (default: the latest import run)."),
    pairs_dataset: str = typer.Option("rm_test", "--pairs-dataset", help="Keep only the run's pairs recorded in this dataset ('' for all)."),
    dataset: str = typer.Option("evaluation_set", help="The labelled dataset for agreement."),
    threshold_split: float = typer.Option(0.3, "--threshold-split", min=0.0, max=1.0, help="Share of the labelled queries on which the score threshold is fitted (evaluated on the rest)."),
    limit: int = typer.Option(None, min=1, help="Use at most this many pairs and labelled items."),
    length_threshold: int = typer.Option(DEFAULT_THRESHOLD, "--length-threshold", help="Length baseline: predict good iff a response is longer than N characters."),
    bands: str = typer.Option(",".join(map(str, DEFAULT_BAND_EDGES)), help="Length band edges, inclusive upper bounds."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Scoring batch size."),
    max_length: int = typer.Option(512, "--max-length", min=8, help="Truncate scored texts to this many tokens."),
) -> None:
    """Pairwise accuracy on held-out pairs beside "the longer one is chosen", and agreement with
    labels (score threshold fitted on a separate split) beside the length baseline; overall, by
    length band and on responses unseen in RM training (stored as an `eval` run)."""
    from rl.reward_model import latest_import_run

    edges = parse_edges(bands)
    store: Store = ctx.obj.open_store()
    if pairs_run is None:
        pairs_run = latest_import_run(store)
        if pairs_run is None:
            fail("no import run in the store: import first (`kindling data import`) or give --pairs-run")
    assert pairs_run is not None
    if get_run(store, pairs_run) is None:
        fail(f"no run with id {pairs_run}")
    try:
        evaluate_and_store_rm(store, model, pairs_run=pairs_run, pairs_dataset=pairs_dataset or None,
                              dataset=dataset, threshold_split=threshold_split, limit=limit,
                              length_threshold=length_threshold, edges=edges,
                              batch_size=batch_size, max_length=max_length)
    except ValueError as exc:
        fail(str(exc))


def evaluate_and_store_rm(
    store: Store, model: str, *, pairs_run: int, pairs_dataset: str | None = "rm_test",
    dataset: str = "evaluation_set", threshold_split: float = 0.3, limit: int | None = None,
    length_threshold: int = DEFAULT_THRESHOLD, edges: tuple[int, ...] = DEFAULT_BAND_EDGES,
    batch_size: int = 32, max_length: int = 512,
) -> tuple[dict[str, Any], int]:
    """Evaluate a reward model (see `rm`), print the tables, store an `eval` run.

    Returns:
        (the figures, the eval run's id).

    Raises:
        ValueError: the model cannot be loaded, no pairs or labelled items, a one-sided split.
    """
    from rl.evaluate.reward_model import evaluate_reward_model
    from rl.reward_model import load_reward_model

    rm_model, tokenizer = load_reward_model(model)
    metrics = evaluate_reward_model(
        store, rm_model, tokenizer, pairs_run=pairs_run, pairs_dataset=pairs_dataset,
        dataset=dataset, threshold_split=threshold_split, limit=limit,
        length_threshold=length_threshold, edges=edges, batch_size=batch_size,
        max_length=max_length)
    _print_rm_report(model, metrics)
    config = {"source": "rm", "model": model, "pairs_run": pairs_run,
              "pairs_dataset": pairs_dataset, "dataset": dataset,
              "threshold_split": threshold_split, "limit": limit, "threshold": length_threshold,
              "band_edges": list(edges)}
    eval_run, _ = work.get_or_create_run(store, kind="eval", run_key=None, config=config,
                                         code_version=code_version())
    work.finish_run(store, eval_run.id, "finished", metrics)
    console.print(f"eval run {eval_run.id} stored")
    return metrics, eval_run.id


def _print_rm_report(model: str, metrics: dict[str, Any]) -> None:
    """A pairwise table (RM vs longer-is-chosen) and an agreement table (RM vs length rule)."""
    pw, agree, cov = metrics["pairwise"], metrics["agreement"], metrics["coverage"]
    table = Table(title=f"reward model {model}: pairwise accuracy", box=box.SIMPLE_HEAD,
                  collapse_padding=True, pad_edge=False,
                  caption="longer: the longer response is predicted chosen; bands by the chosen "
                          "response's length; unseen: neither response in RM training pairs")
    for col in ("subset", "n", "rm", "longer", "rm ties", "len ties"):
        table.add_column(col, justify="left" if col == "subset" else "right", no_wrap=True)
    rows = [("all", pw["overall"]), *pw["bands"].items(), ("unseen", pw["unseen"])]
    for subset, m in rows:
        table.add_row(subset, str(m["n"]), f"{m['rm']:.3f}", f"{m['length']:.3f}",
                      str(m["rm_ties"]), str(m["length_ties"]))
    console.print(table)
    st, base = agree["score_threshold"], f"len>{agree['threshold']}"
    console.print(f"agreement: score threshold {st['threshold']:.4f} fitted on {st['fit_items']} "
                  f"items (accuracy there {st['fit_accuracy']:.3f}, length rule "
                  f"{st['fit_length_accuracy']:.3f}); evaluated on {st['evaluated_items']} items "
                  f"of other queries ({cov['labelled']} labelled in all)", highlight=False)
    table = Table(title="reward model vs labels", box=box.SIMPLE_HEAD, collapse_padding=True,
                  pad_edge=False, caption=f"{base}: length-only baseline; unseen: not in RM "
                                          "training pairs")
    for col in ("subset", "predictor", "n", "pos", "acc", "prec", "rec", "F1",
                "tp", "fp", "tn", "fn"):
        table.add_column(col, justify="left" if col in ("subset", "predictor") else "right",
                         no_wrap=True)
    add_metric_rows(table, "all", [("rm", agree["overall"]), (base, agree["baseline"])])
    for band, pair in agree["bands"].items():
        add_metric_rows(table, band, [("rm", pair["judge"]), (base, pair["baseline"])])
    add_metric_rows(table, "unseen", [("rm", agree["unseen"]["judge"]),
                                (base, agree["unseen"]["baseline"])])
    console.print(table)
