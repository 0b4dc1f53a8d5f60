"""`kindling judge`: score (query, response) items with the principle-guided judge (Path B)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING

import typer

from kindling.context import fail
from kindling.options import (
    FORCE_TASK_OPTION,
    MAX_COST_OPTION,
    TASK_OPTION,
    Backend,
    force_task_override,
)
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


def judge(
    ctx: typer.Context,
    dataset: str = typer.Option(None, help="Imported dataset whose responses are judged (e.g. evaluation_set)."),
    file: Path = typer.Option(None, "--file", help="JSONL file, one {\"query\": ..., \"response\": ...} per line."),
    limit: int = typer.Option(None, min=1, help="--dataset: at most this many responses."),
    offset: int = typer.Option(0, min=0, help="--dataset: skip this many responses first."),
    principles: str = typer.Option(None, help="Detector principles: a version id, a name under prompts/principles/, or a YAML path (default: the active detector version, else detector_initial)."),
    samples: int = typer.Option(None, help="Self-consistency samples per item (majority verdict; score = fraction Good)."),
    concurrency: int = typer.Option(None, help="Items judged at once."),
    max_cost: float = MAX_COST_OPTION,
    config: Path = typer.Option(None, "--config", "-c", help="YAML file with JudgeConfig fields."),
    backend: Backend = typer.Option(None, help="Judge backend: local (in-process model) or openai (any OpenAI-compatible endpoint)."),
    model: str = typer.Option(None, help="Judge model (endpoint model name, hub id, path, or 'smollm2')."),
    base_url: str = typer.Option(None, help="OpenAI-compatible base URL."),
    api_key_env: str = typer.Option(None, help="Environment variable that holds the API key."),
    sets: list[str] = typer.Option([], "--set", help="Any config field as dotted key=value, e.g. --set llm.max_concurrency=32."),
    out: Path = typer.Option(None, "--out", help="Write one JSON line per item (query, response, verdict, score, reason, flagged, cached, error)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --out file if it exists."),
    graph: bool = typer.Option(False, "--graph", help="Run each item through the `judge` graph one at a time (slow; for single items and debugging)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the live progress bar."),
    task: str = TASK_OPTION,
    force_task: bool = FORCE_TASK_OPTION,
) -> None:
    """Judge items Good (1) / Bad (0) with a score and a reason; cached, so nothing is judged twice."""
    from kindling.agents.config import load_config, parse_sets
    from kindling.agents.judge.config import JudgeConfig
    from kindling.agents.judge.service import resolve_judge
    from kindling.services.judge import InputError, dataset_items, execute_judge, read_items_file
    from kindling.views import print_judge_summary

    overrides = {"task": task, "force_task": force_task_override(force_task),
                 "principles": principles, "samples": samples, "concurrency": concurrency, "budget.max_cost": max_cost,
                 "llm.backend": backend, "llm.model": model, "llm.base_url": base_url,
                 "llm.api_key_env": api_key_env}
    if (dataset is None) == (file is None):
        raise InputError("give exactly one of --dataset NAME or --file items.jsonl")
    if file is not None and (limit is not None or offset):
        raise InputError("--limit and --offset select dataset items; use them with --dataset")
    if out is not None:
        check_output_file(out, overwrite=overwrite)
    cfg = load_config(JudgeConfig, config, {**overrides, **parse_sets(sets)})
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
