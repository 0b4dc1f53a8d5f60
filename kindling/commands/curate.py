"""`kindling curate`: run Path A (multi-agent rejection sampling) over a set of items."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from kindling.config_flags import AGENT_RUN_FLAGS, config_flags, config_overrides, flag
from kindling.context import console, fail
from kindling.options import RUN_NAME_OPTION

CURATE_FLAGS = ("source", "dataset", "limit", "offset", flag("samples_per_query", "--samples"),
                flag("policy.model", "--policy"), "prompt_set", "principles", "concurrency",
                *AGENT_RUN_FLAGS)
"""CurateConfig's fields `kindling curate` takes as flags (any other: --set)."""


@config_flags("kindling.agents.curate.config:CurateConfig", CURATE_FLAGS)
def curate(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="YAML file with CurateConfig fields (see configs/curate_local.yaml)."),
    file: Path = typer.Option(None, "--file", dir_okay=False, help="Judge the (query, response[, label]) rows of your own .jsonl/.csv/.parquet file: imported first as dataset file_<name> (or --dataset), as `data import --file --as responses` does."),
    sets: list[str] = typer.Option([], "--set", help="Any config field as dotted key=value, e.g. --set agents.max_concurrency=32."),
    new_run: bool = typer.Option(False, "--new-run", help="Start a new run even if one with this config exists (default: resume it)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Judge again the items this run recorded as failed (stored successful calls are reused)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the live progress bar."),
    name: str = RUN_NAME_OPTION,
) -> None:
    """Judge items with retrieve → advocate ∥ critic → judge → reflect → persist; resumable."""
    from kindling.agents.config import load_config, parse_sets
    from kindling.agents.curate.config import CurateConfig
    from kindling.store.reports import first_verdict_error

    overrides = config_overrides(ctx)
    policy, source = overrides.get("policy.model"), overrides.get("source")
    if policy is not None and source is None:
        overrides["source"] = "generate"
    if file is not None and (policy is not None or source == "generate"):
        fail("--file judges the file's responses: it does not go with --policy or --source "
             "generate")
    if file is not None:
        overrides.update(source="dataset", dataset=overrides.get("dataset") or f"file_{file.stem}")
    cfg = load_config(CurateConfig, config, {**overrides, **parse_sets(sets)})
    # the agents' stack (LangChain, the OpenAI client: seconds to import) only now: a bad flag or
    # config file is named at once
    from kindling.services.curate import CurateRunner

    store = ctx.obj.open_store()
    if file is not None:
        _import_file(store, file, cfg.dataset)
    runner = CurateRunner(store, cfg, new_run=new_run, retry_failed=retry_failed,
                          show_progress=progress, name=name)
    outcome = asyncio.run(runner.run())
    print_summary(store, outcome.run_id, outcome.counts, outcome.elapsed_s, outcome.calls)
    counts = outcome.counts
    if counts.get("pending") or counts.get("claimed"):
        console.print("[yellow]other workers still hold items of this run[/]")
    elif counts.get("failed") and not counts.get("done"):
        why = first_verdict_error(store, outcome.run_id) or "see kindling runs show"
        fail(f"every item of curate run {outcome.run_id} failed ({counts['failed']} of "
             f"{counts['failed']}); first error: {why[:500]}", code=1)


def _import_file(store: Any, file: Path, dataset: str) -> None:
    from kindling.ingest.imports import import_user_file
    from kindling.store.version import code_version

    report = import_user_file(store, file, "responses", dataset, code_version=code_version())
    added = report.added.get(dataset, 0)
    console.print(f"{file}: {report.rows[dataset]} rows as dataset {dataset} "
                  f"({added} new)", highlight=False)


def print_summary(store: Any, run_id: int, counts: dict[str, int], elapsed: float, calls: int) -> None:
    from kindling.store.reports import call_stats, verdict_stats
    from kindling.views import call_table

    table = Table(title=f"curate run {run_id}", show_header=False)
    verdicts = verdict_stats(store, run_id)
    for label, value in [
        ("items done", counts.get("done", 0)), ("items failed", counts.get("failed", 0)),
        ("judged good (1)", verdicts["good"]), ("judged bad (0)", verdicts["bad"]),
        ("overturned by reflect", verdicts["overturned"]),
        ("LLM attempts this session", calls), ("elapsed", f"{elapsed:.1f} s"),
    ]:
        table.add_row(label, str(value))
    console.print(table)
    console.print(call_table(call_stats(store, run_id)))
