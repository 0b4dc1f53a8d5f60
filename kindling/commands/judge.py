"""`kindling judge`: score (query, response) items with the principle-guided judge (Path B)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING

import typer

from kindling.config_flags import AGENT_RUN_FLAGS, config_flags, config_overrides
from kindling.context import fail
from kindling.outputs import check_output_file, write_file

if TYPE_CHECKING:
    from kindling.agents.judge.results import JudgeResult


def write_out(path: Path, items: list[tuple[str, str]], results: list[JudgeResult]) -> None:
    """One JSON object per item: query, response and the judge's result (written atomically)."""
    def write(out: IO[str]) -> None:
        for (query, response), result in zip(items, results, strict=True):
            record = {"query": query, "response": response, **asdict(result)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

    write_file(path, write)


JUDGE_FLAGS = ("principles", "samples", "concurrency", *AGENT_RUN_FLAGS)
"""JudgeConfig's fields `kindling judge` takes as flags (any other: --set)."""


@config_flags("kindling.agents.judge.config:JudgeConfig", JUDGE_FLAGS, before="config")
def judge(
    ctx: typer.Context,
    dataset: str = typer.Option(None, help="Imported dataset whose responses are judged (e.g. evaluation_set)."),
    file: Path = typer.Option(None, "--file", help="JSONL file, one {\"query\": ..., \"response\": ...} per line."),
    limit: int = typer.Option(None, min=1, help="--dataset: at most this many responses."),
    offset: int = typer.Option(0, min=0, help="--dataset: skip this many responses first."),
    config: Path = typer.Option(None, "--config", "-c", help="YAML file with JudgeConfig fields."),
    sets: list[str] = typer.Option([], "--set", help="Any config field as dotted key=value, e.g. --set llm.max_concurrency=32."),
    out: Path = typer.Option(None, "--out", help="Write one JSON line per item (query, response, verdict, score, reason, flagged, cached, error)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --out file if it exists."),
    graph: bool = typer.Option(False, "--graph", help="Run each item through the `judge` graph one at a time (slow; for single items and debugging)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the live progress bar."),
) -> None:
    """Judge items Good (1) / Bad (0) with a score and a reason; cached, so nothing is judged twice."""
    from kindling.agents.config import load_config, parse_sets
    from kindling.agents.judge.config import JudgeConfig
    from kindling.agents.judge.service import resolve_judge
    from kindling.services.judge import dataset_items, execute_judge, read_items_file
    from kindling.store.errors import FlagError
    from kindling.views import print_judge_summary

    if (dataset is None) == (file is None):
        raise FlagError("give exactly one of --dataset NAME or --file items.jsonl")
    if file is not None and (limit is not None or offset):
        raise FlagError("--limit and --offset select dataset items; use them with --dataset")
    if out is not None:
        check_output_file(out, overwrite=overwrite)
    cfg = load_config(JudgeConfig, config, {**config_overrides(ctx), **parse_sets(sets)})
    store = ctx.obj.open_store()
    items = (read_items_file(file) if file is not None
             else dataset_items(store, dataset, offset, limit))
    source = {"file": str(file.resolve())} if file is not None else {
        "dataset": dataset, "offset": offset, "limit": limit}
    outcome = execute_judge(store, resolve_judge(store, cfg), items, source, graph=graph,
                            progress=progress)
    print_judge_summary(outcome)
    results = outcome.results
    if out is not None:
        write_out(out, items, results)
    errors = [r.error for r in results if r.verdict is None and not r.flagged]
    if errors and len(errors) == len(results):
        fail(f"every item of judge run {outcome.run_id} failed ({len(errors)} of {len(results)}); "
             f"first error: {(errors[0] or 'unknown')[:500]}", code=1)
