"""`kindling data ...`: import the paper's data (or a folder of its layout), show store counts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kindling.context import console, fail
from kindling.ingest.readers import LAYOUT
from kindling.ingest.upstream import UPSTREAM_COMMIT
from kindling.options import Shape
from kindling.services.paper_data import (
    UPSTREAM_URL_ENV,
    default_cache_dir,
    download_upstream,
    upstream_base_url,
)

app = typer.Typer(help="Import datasets into the store.", no_args_is_help=True)


@app.command("import")
def import_command(
    ctx: typer.Context,
    source: Annotated[Path | None, typer.Option(
        "--from", file_okay=False,
        help="Folder of the paper's dataset/ layout: sft/, reward_model/, grpo_data/, "
             "evaluation_set/ and random_query.txt.",
    )] = None,
    upstream: Annotated[bool, typer.Option(
        "--upstream",
        help=f"Download the upstream dataset/ at commit {UPSTREAM_COMMIT[:12]} (SHA-256 checked) "
             f"into the cache, then import it (${UPSTREAM_URL_ENV}: a mirror's dataset/ URL).",
    )] = False,
    cache_dir: Annotated[Path | None, typer.Option(
        "--cache-dir", file_okay=False,
        help="Where --upstream keeps the download. Default: ~/.cache/kindling/igniting/<commit>.",
    )] = None,
    timeout_s: Annotated[float, typer.Option(
        "--timeout", min=1.0, help="Per-request timeout in seconds for --upstream downloads.",
    )] = 60.0,
    file: Annotated[Path | None, typer.Option(
        "--file", dir_okay=False,
        help="Your own data: a .jsonl, .csv or .parquet file, imported as --dataset in the "
             "shape --as names.",
    )] = None,
    shape: Annotated[Shape | None, typer.Option(
        "--as", help="--file's shape: labelled (query, response, label 0/1), pairs (query or "
                     "prompt, chosen, rejected), prompts (query or prompt), sft (query or "
                     "instruction, response or output), responses (query, response, label optional).",
    )] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="--file: the dataset name every command then takes (not one of the "
                          "paper's).",
    )] = None,
) -> None:
    """Import the paper's data set (re-running adds nothing), or a file of your own."""
    from kindling.ingest.imports import import_paper_data, import_user_file
    from kindling.store.version import code_version
    from kindling.views import print_import_report

    if sum((source is not None, upstream, file is not None)) != 1:
        fail("give exactly one of --from PATH, --upstream or --file FILE")
    if file is not None:
        if shape is None or not dataset:
            fail("--file needs --as labelled|pairs|prompts|sft|responses and --dataset NAME")
        store = ctx.obj.open_store()
        try:
            report = import_user_file(store, file, shape, dataset,
                                      code_version=code_version())
        finally:
            store.close()
        print_import_report(report, str(file))
        return
    if shape is not None or dataset is not None:
        fail("--as and --dataset go with --file")
    if source is not None and not source.is_dir():
        fail(f"--from {source}: folder does not exist (the paper's dataset/ layout: "
             f"{', '.join(rel for _n, rel, _k in LAYOUT)})")
    folder = source if source is not None else download_upstream(
        cache_dir or default_cache_dir(), base_url=upstream_base_url(), timeout_s=timeout_s,
        warn=lambda msg: console.print(f"[yellow]warning:[/] {msg}", highlight=False),
        on_file=lambda rel, size: console.print(f"downloaded {rel} ({size / 1e6:.1f} MB)",
                                                highlight=False),
    )
    store = ctx.obj.open_store()
    try:
        report = import_paper_data(store, folder, code_version=code_version())
    finally:
        store.close()
    print_import_report(report)


@app.command("stats")
def stats_command(ctx: typer.Context) -> None:
    """Show how many records each imported dataset has in the store."""
    from kindling.store.importers import dataset_counts

    store = ctx.obj.open_store(writes=False)
    try:
        counts = dataset_counts(store)
    finally:
        store.close()
    if not counts:
        console.print("No datasets imported yet (run `kindling data import`).")
        return
    table = Table(title="Datasets in the store")
    table.add_column("dataset")
    table.add_column("records", justify="right")
    for name, n in sorted(counts.items()):
        table.add_row(name, str(n))
    console.print(table)
