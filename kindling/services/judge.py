"""Judge (query, response) items with the principle-guided judge as one stored `judge` run.

The same functions `kindling judge`, `kindling eval judge --principles` and `kindling eval policy`
call; a notebook calls them too:

    from kindling.agents.judge.service import resolve_judge
    from kindling.services.judge import execute_judge
    judge = resolve_judge(store, JudgeConfig())
    outcome = execute_judge(store, judge, [("给妈妈的生日祝福", "妈妈生日快乐！")], {})
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kindling.agents.budget import BUDGET_KEY, BudgetSpent, check_budget, llm_models
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.results import JudgeResult
from kindling.agents.judge.service import JudgeService, ResolvedJudge, build_judge_service
from kindling.agents.judge.state import JudgeState, state_result
from kindling.agents.llm.endpoints import build_chat_model, close_chat_model
from kindling.agents.llm.errors import EndpointError
from kindling.agents.run_key import key_fields
from kindling.agents.task_ref import TASK_KEY, forced_config, task_record
from kindling.context import console
from kindling.graphs.judge import build_judge_graph
from kindling.store import queries, work
from kindling.store.bounded import data_limit, iter_bounded_lines, named
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.text_checks import lone_surrogate
from kindling.store.version import code_version

MAX_TEXT_CHARS = 20_000  # longer texts are input errors, not greetings
CHUNK = 1024  # items handed to the service at once (progress and write granularity)


class InputError(UserError):
    """An items file that cannot be judged; the message names file, line and field."""


@dataclass(frozen=True)
class JudgeOutcome:
    """A finished judge run: its id, one result per item (in order), its stored counts."""

    run_id: int
    results: list[JudgeResult]
    metrics: dict[str, Any]
    version: str  # "id (name)" of the principle version used
    samples: int  # Detector samples per item


def read_items_file(path: Path) -> list[tuple[str, str]]:
    """(query, response) items from a JSONL file, every line checked before anything is judged;
    read one line at a time, within the data files' bound (`store.bounded.data_limit`).

    Raises:
        InputError: unreadable, not a regular file, past the bound, a line that is not JSON, or
            a missing, empty, non-string, over-long or not valid Unicode `query` / `response`
            field (naming file, line and field).
    """
    items: list[tuple[str, str]] = []
    lines = iter_bounded_lines(path, data_limit(), "data file", named(path, InputError))
    try:
        for number, raw in enumerate(lines, start=1):
            if raw.strip():
                record = _record(path, number, raw)
                items.append((_text_field(path, number, record, "query"),
                              _text_field(path, number, record, "response")))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not items:
        raise InputError(f"{path}: no items (expected one {{\"query\", \"response\"}} object per line)")
    return items


def _record(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:{number}: not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{number}: not a JSON object: {exc.msg}") from exc
    if not isinstance(record, dict):
        raise InputError(f"{path}:{number}: expected a JSON object with query and response")
    return record


def _text_field(path: Path, number: int, record: dict[str, Any], name: str) -> str:
    if name not in record:
        raise InputError(f"{path}:{number}: field {name}: missing")
    value = record[name]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{path}:{number}: field {name}: must be a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise InputError(f"{path}:{number}: field {name}: {len(value)} characters "
                         f"(at most {MAX_TEXT_CHARS})")
    if bad := lone_surrogate(value):
        raise InputError(f"{path}:{number}: field {name}: not valid Unicode (a lone surrogate "
                         f"{bad})")
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


def execute_judge(store: Store, judge: ResolvedJudge, items: list[tuple[str, str]],
                  source: dict[str, Any], *, graph: bool = False,
                  progress: bool = True) -> JudgeOutcome:
    """Judge `items` with a resolved judge (`agents.judge.service.resolve_judge`) as a new
    `judge` run (config with the version's id, input source and counts stored).

    Raises:
        LLMConfigError: the model cannot be built (before any run is created).
        BudgetError, PriceError: budget.max_cost set and a model with no price (before any run).
        BudgetSpent: the calls cost budget.max_cost; the run is stopped, and the same call with
            a raised budget resumes it.
    """
    task, version, cfg = judge.task, judge.version, judge.recorded_cfg
    meter = check_budget(cfg.budget, *llm_models(cfg.llm))
    chat = build_chat_model(cfg.llm)
    key = judge_run_key(cfg, source, items)
    run = work.stopped_run_by_key(store, key)  # stopped by its budget: resumed
    if run is not None:
        work.reopen_run(store, run.id)
        work.merge_config(store, run.id, {BUDGET_KEY: cfg.budget.model_dump()})
    else:
        run, _ = work.get_or_create_run(
            store, kind="judge", run_key=None, code_version=code_version(),
            config={**cfg.model_dump(), "input": source, TASK_KEY: task_record(task),
                    **forced_config(task, version)})
    started = time.perf_counter()
    service = build_judge_service(store, judge, run.id, chat_model=chat)
    service.context.llm.meter = meter.start_from(store, run.id) if meter is not None else None
    try:
        results = asyncio.run(_run(service, chat, items, graph=graph, show_progress=progress))
    except BaseException as exc:  # interrupted, refused or a bug: the run says so; stored
        failed = run_metrics(service, len(items), started)  # judgments are kept
        if isinstance(exc, BudgetSpent):  # the same command with a raised budget resumes it
            work.stop_run(store, run.id, str(exc), failed)
            work.set_run_key(store, run.id, key)
            raise
        if isinstance(exc, EndpointError):
            failed["stopped"] = str(exc)
        work.finish_run(store, run.id, "failed", failed)
        raise
    metrics = run_metrics(service, len(items), started)
    work.finish_run(store, run.id, "finished", metrics)
    work.set_run_key(store, run.id, None)
    work.record_modes(store, run.id, {"judge": service.context.llm.mode})
    return JudgeOutcome(run.id, results, metrics, f"{version.id} ({version.name})",
                       cfg.samples)


def judge_run_key(cfg: JudgeConfig, source: dict[str, Any], items: list[tuple[str, str]]) -> str:
    """The key a judge run stopped by its budget holds (the same config but the budget, input
    and items find it again)."""
    texts = hashlib.sha256(json.dumps(items, ensure_ascii=False).encode()).hexdigest()
    blob = json.dumps({"cfg": key_fields(cfg, exclude={BUDGET_KEY}), "input": source,
                       "items": texts}, sort_keys=True, default=str)
    return "judge:" + hashlib.sha256(blob.encode()).hexdigest()[:40]


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
