"""`kindling judge`: score (query, response) items with the principle-guided judge (Path B)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any, cast

import typer
from langchain_core.language_models import BaseChatModel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents.config import ConfigError, load_config, parse_sets
from agents.judge.config import JudgeConfig
from agents.judge.nodes import JudgeResult, JudgeState, state_result
from agents.judge.service import (
    DEFAULT_PRINCIPLES,
    DETECTOR_KIND,
    JudgeService,
    build_judge_service,
)
from agents.llm.endpoints import LLMConfigError, build_chat_model, close_chat_model
from agents.templates import PromptError
from graphs.judge import build_judge_graph
from kindling.context import console, fail
from kindling.outputs import check_output_file, write_file
from store import queries, work
from store.db import Store
from store.errors import UserError
from store.principles import PrincipleNotFound, resolve_version
from store.version import code_version

MAX_TEXT_CHARS = 20_000  # longer texts are input errors, not greetings
CHUNK = 1024  # items handed to the service at once (progress and write granularity)


class InputError(UserError):
    """An items file that cannot be judged; the message names file, line and field."""


def read_items_file(path: Path) -> list[tuple[str, str]]:
    """(query, response) items from a JSONL file, every line checked before anything is judged.

    Raises:
        InputError: unreadable file, a line that is not JSON, or a missing, empty, non-string or
            over-long `query` / `response` field (naming file, line and field).
    """
    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    items: list[tuple[str, str]] = []
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}:{number}: not UTF-8 text (byte {exc.start})") from exc
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not a JSON object: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number}: expected a JSON object with query and response")
        items.append((_text_field(path, number, record, "query"),
                      _text_field(path, number, record, "response")))
    if not items:
        raise InputError(f"{path}: no items (expected one {{\"query\", \"response\"}} object per line)")
    return items


def _text_field(path: Path, number: int, record: dict[str, Any], name: str) -> str:
    if name not in record:
        raise InputError(f"{path}:{number}: field {name}: missing")
    value = record[name]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{path}:{number}: field {name}: must be a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise InputError(f"{path}:{number}: field {name}: {len(value)} characters "
                         f"(at most {MAX_TEXT_CHARS})")
    return value


def dataset_items(store: Store, dataset: str, offset: int, limit: int | None) -> list[tuple[str, str]]:
    """(query, response) texts of an imported dataset's responses, in file order."""
    rows = queries.dataset_response_items(store, dataset, offset, limit)
    if not rows:
        raise InputError(f"dataset {dataset!r} has no responses to judge: import data first "
                         "(kindling data import) or pick another dataset")
    qtexts, rtexts = queries.texts_for(store, {r["query_id"] for r in rows},
                                       {r["response_id"] for r in rows})
    return [(qtexts[r["query_id"]], rtexts[r["response_id"]]) for r in rows]


async def judge_items(service: JudgeService, items: list[tuple[str, str]], *, graph: bool,
                      show_progress: bool) -> list[JudgeResult]:
    """All items through the service in chunks (or one by one through the `judge` graph)."""
    results: list[JudgeResult] = []
    compiled = build_judge_graph().compile() if graph else None
    bar = Progress(TextColumn("[bold]judge"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, disable=not show_progress)
    with bar:
        task = bar.add_task("items", total=len(items))
        step = 1 if compiled is not None else CHUNK
        for start in range(0, len(items), step):
            chunk = items[start : start + step]
            if compiled is not None:
                query, response = chunk[0]
                state = await compiled.ainvoke({"query": query, "response": response},
                                               context=service.context)
                results.append(state_result(cast(JudgeState, state)))
            else:
                results.extend(await service.judge_many(chunk))
            bar.update(task, completed=len(results))
    return results


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
    config: Path = typer.Option(None, "--config", "-c", help="YAML file with JudgeConfig fields."),
    backend: str = typer.Option(None, help="Judge backend: local or openai."),
    model: str = typer.Option(None, help="Judge model (endpoint model name, hub id, path, or 'smollm2')."),
    base_url: str = typer.Option(None, help="OpenAI-compatible base URL."),
    api_key_env: str = typer.Option(None, help="Environment variable that holds the API key."),
    sets: list[str] = typer.Option([], "--set", help="Any config field as dotted key=value, e.g. --set llm.max_concurrency=32."),
    out: Path = typer.Option(None, "--out", help="Write one JSON line per item (query, response, verdict, score, reason, flagged, cached, error)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --out file if it exists."),
    graph: bool = typer.Option(False, "--graph", help="Run each item through the `judge` graph one at a time (slow; for single items and debugging)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the live progress bar."),
) -> None:
    """Judge items Good (1) / Bad (0) with a score and a reason; cached, so nothing is judged twice."""
    overrides = {"principles": principles, "samples": samples, "concurrency": concurrency,
                 "llm.backend": backend, "llm.model": model, "llm.base_url": base_url,
                 "llm.api_key_env": api_key_env}
    try:
        if (dataset is None) == (file is None):
            raise InputError("give exactly one of --dataset NAME or --file items.jsonl")
        if file is not None and (limit is not None or offset):
            raise InputError("--limit and --offset select dataset items; use them with --dataset")
        if out is not None:
            check_output_file(out, overwrite=overwrite)
        cfg: JudgeConfig = load_config(JudgeConfig, config, {**overrides, **parse_sets(sets)})
        store = ctx.obj.open_store()
        items = (read_items_file(file) if file is not None
                 else dataset_items(store, dataset, offset, limit))
        source = {"file": str(file.resolve())} if file is not None else {
            "dataset": dataset, "offset": offset, "limit": limit}
        run_id, results = execute_judge(store, cfg, items, source, graph=graph,
                                         progress=progress)
    except (ConfigError, InputError, PromptError, PrincipleNotFound, LLMConfigError) as exc:
        fail(str(exc))
        return
    if out is not None:
        write_out(out, items, results)
    errors = [r.error for r in results if r.verdict is None and not r.flagged]
    if errors and len(errors) == len(results):
        fail(f"every item of judge run {run_id} failed ({len(errors)} of {len(results)}); "
             f"first error: {(errors[0] or 'unknown')[:500]}", code=1)


def execute_judge(store: Store, cfg: JudgeConfig, items: list[tuple[str, str]],
                  source: dict[str, Any], *, graph: bool = False,
                  progress: bool = True) -> tuple[int, list[JudgeResult]]:
    """Judge `items` as a new `judge` run (config and counts stored), print its summary.

    Raises:
        PrincipleNotFound, PromptError, LLMConfigError: before any run is created.
    """
    version = resolve_version(store, cfg.principles, DETECTOR_KIND, DEFAULT_PRINCIPLES)
    chat = build_chat_model(cfg.llm)
    cfg = cfg.model_copy(update={"principles": str(version.id)})
    run, _ = work.get_or_create_run(store, kind="judge", run_key=None, code_version=code_version(),
                                    config={**cfg.model_dump(), "input": source})
    started = time.perf_counter()
    service = build_judge_service(store, cfg, run.id, chat_model=chat)
    try:
        results = asyncio.run(_run(service, chat, items, graph=graph, show_progress=progress))
    except BaseException:  # interrupted or a bug: the run says so; stored judgments are kept
        work.finish_run(store, run.id, "failed", run_metrics(service, len(items), started))
        raise
    metrics = run_metrics(service, len(items), started)
    work.finish_run(store, run.id, "finished", metrics)
    work.record_modes(store, run.id, {"judge": service.context.llm.mode})
    print_summary(run.id, f"{version.id} ({version.name})", cfg.samples, metrics)
    return run.id, results


def run_metrics(service: JudgeService, items: int, started: float) -> dict[str, Any]:
    """The run's counts (stored as its metrics)."""
    calls = service.context.calls.calls_made if service.context.calls is not None else 0
    return {**asdict(service.stats), "items": items, "calls": calls,
            "principle_version_id": service.version.id,
            "elapsed_s": round(time.perf_counter() - started, 3)}


async def _run(service: JudgeService, chat: BaseChatModel, items: list[tuple[str, str]],
               *, graph: bool, show_progress: bool) -> list[JudgeResult]:
    try:
        return await judge_items(service, items, graph=graph, show_progress=show_progress)
    finally:
        await service.aclose()
        await close_chat_model(chat)


def print_summary(run_id: int, version: str, samples: int, metrics: dict[str, Any]) -> None:
    """The run's counts as a rich table."""
    table = Table(title=f"judge run {run_id}", show_header=False)
    for label, value in [
        ("principle version", version), ("samples per item", samples),
        ("items", metrics["items"]), ("judged now (LLM)", metrics["judged"]),
        ("cached", metrics["cached"]), ("flagged by guard", metrics["flagged"]),
        ("failed", metrics["failed"]), ("Good (1)", metrics["good"]), ("Bad (0)", metrics["bad"]),
        ("LLM attempts", metrics["calls"]), ("elapsed", f"{metrics['elapsed_s']:.1f} s"),
    ]:
        table.add_row(label, str(value))
    console.print(table)
