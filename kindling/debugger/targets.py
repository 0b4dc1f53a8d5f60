"""What a stepped or forked graph run runs with: a new store run, its graph context and input.

Each target is a new run row (config marked `stepped` or `forked_from`), so a stepped item's
verdict, agent calls and checkpoints land in the store like any run's and show up in
`kindling runs`, `kindling graph replay` and the studio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel

from kindling.agents.adversarial.config import AdversarialConfig
from kindling.agents.config import load_config
from kindling.agents.curate.config import CurateConfig
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.task_ref import TASK_KEY, forced_config, task_record
from kindling.debugger.errors import StepError, TargetNotFound
from kindling.services.adversarial import AdversarialRunner
from kindling.services.curate import CurateRunner, select_items
from kindling.services.curate_driver import item_inputs
from kindling.store import work
from kindling.store.calls import CallLog
from kindling.store.db import Store
from kindling.store.refs import no_run_message
from kindling.store.reports import get_run
from kindling.store.version import code_version


def settings_of(config: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """The fields of `model` in a run's stored config, which also holds what the run recorded
    beside its settings (its task, the rules' text, a forced version, the policy's folder, what
    the debugger did)."""
    return {k: v for k, v in config.items() if k in model.model_fields}


@dataclass
class GraphTarget:
    """One graph thread to drive: the run it belongs to, its context, input and how to end it."""

    graph: str
    run_id: int
    thread_id: str
    context: Any
    start: dict[str, Any] | None
    calls: CallLog
    on_end: Callable[[dict[str, Any]], None]  # marks the run finished with the final state
    close: Callable[[], Awaitable[None]]  # closes the chat models the target built
    item_key: str | None = None
    recursion_limit: int = 100


def curate_target(store: Store, cfg: CurateConfig, item_key: str | None = None, *,
                  chat_models: dict[str, BaseChatModel] | None = None,
                  debug: dict[str, Any] | None = None,
                  principles_text: str | None = None) -> GraphTarget:
    """A new curate run holding one item of the config's selection (the first unless named).

    `principles_text` (a fork's source run's rules) replaces the rules read from the config's
    principle file, so a fork judges under the rules its source run used.

    Raises:
        TargetNotFound: `item_key` is not among the selected items.
    """
    items = select_items(store, cfg)
    chosen = next((it for it in items if it["item_key"] == item_key), None) if item_key \
        else items[0]
    if chosen is None:
        keys = ", ".join(it["item_key"] for it in items[:5])
        raise TargetNotFound(f"item {item_key!r} is not in the selection (first items: {keys})")
    runner = CurateRunner(store, cfg, new_run=True, chat_models=chat_models, show_progress=False)
    if principles_text:
        runner.use_rules(principles_text)
    runner.check()  # models and corpus before the run row
    run, _ = work.get_or_create_run(
        store, kind="curate", run_key=None, code_version=code_version(),
        config={**runner.run_config(), **(debug or {"stepped": True})})
    work.add_items(store, run.id, [chosen])
    claimed = work.claim_items(store, run.id, runner.worker, 1, cfg.lease_s)
    start = item_inputs(store, claimed)[0]
    start.pop("attempts")
    calls = CallLog(store, run.id)
    key = start["item_key"]

    def on_end(_state: dict[str, Any]) -> None:
        work.finish_run(store, run.id, "finished", {"items": work.item_counts(store, run.id)})

    return GraphTarget("curate", run.id, f"curate:{run.id}:{key}", runner.build_context(run.id, calls),
                       start, calls, item_key=key, on_end=on_end, close=runner.close)


def adversarial_target(store: Store, cfg: AdversarialConfig, *, one_iteration: bool = True,
                       chat_models: dict[str, BaseChatModel] | None = None,
                       debug: dict[str, Any] | None = None) -> GraphTarget:
    """A new adversarial run: one iteration when stepping (`iterations` set to 1), else as set."""
    if one_iteration:
        cfg = cfg.model_copy(update={"iterations": 1})
    runner = AdversarialRunner(store, cfg, new_run=True, chat_models=chat_models)
    run_id, context, config, calls = runner.open_run(debug or {"stepped": True})

    def on_end(state: dict[str, Any]) -> None:
        runner.finish(run_id, state)

    return GraphTarget(
        "adversarial", run_id, config["configurable"]["thread_id"], context,
        dict(runner.initial_state()), calls, recursion_limit=int(config["recursion_limit"]),
        on_end=on_end, close=runner.close)


def judge_target(store: Store, cfg: JudgeConfig, query: str, response: str, *,
                 chat_model: BaseChatModel | None = None,
                 debug: dict[str, Any] | None = None) -> GraphTarget:
    """A new judge run of one (query, response) through the `judge` graph."""
    from kindling.agents.judge.service import build_judge_service, resolve_judge
    from kindling.agents.llm.endpoints import build_chat_model

    judge = resolve_judge(store, cfg)  # before the run row
    task, version = judge.task, judge.version
    built = chat_model is None
    chat = build_chat_model(cfg.llm) if chat_model is None else chat_model
    run, _ = work.get_or_create_run(
        store, kind="judge", run_key=None, code_version=code_version(),
        config={**cfg.model_dump(), "item": {"query": query, "response": response},
                TASK_KEY: task_record(task), **forced_config(task, version),
                **(debug or {"stepped": True})})
    service = build_judge_service(store, judge, run.id, chat_model=chat, close_chat=built)
    calls = service.context.calls or CallLog(store, run.id)

    def on_end(state: dict[str, Any]) -> None:
        work.finish_run(store, run.id, "finished", {"verdict": state.get("verdict"),
                                                    "score": state.get("score")})

    return GraphTarget("judge", run.id, f"judge:{run.id}:item", service.context,
                       {"query": query, "response": response}, calls, item_key="item",
                       on_end=on_end, close=service.aclose)


def fork_target(store: Store, run_id: int, item_key: str | None, checkpoint_id: str, *,
                chat_models: dict[str, BaseChatModel] | None = None) -> GraphTarget:
    """A new run, of the same kind and config as `run_id`, to continue a copied checkpoint in.

    The target has no input (`start` None): the caller copies the checkpoint into its thread.
    """
    run = get_run(store, run_id)
    if run is None:
        raise TargetNotFound(no_run_message(store, run_id))
    kind, config = run.kind, dict(run.config)
    debug = {"forked_from": {"run_id": run_id, "item_key": item_key,
                             "checkpoint_id": checkpoint_id}}
    if kind == "curate":
        curate = CurateConfig.model_validate(settings_of(config, CurateConfig))
        target = curate_target(store, curate, item_key, chat_models=chat_models, debug=debug,
                               principles_text=config.get("principles_text"))
    elif kind == "adversarial":
        adversarial = AdversarialConfig.model_validate(settings_of(config, AdversarialConfig))
        target = adversarial_target(store, adversarial, one_iteration=False,
                                    chat_models=chat_models, debug=debug)
    elif kind == "judge" and "item" in config:
        chat = next(iter(chat_models.values())) if chat_models else None
        judge = JudgeConfig.model_validate(settings_of(config, JudgeConfig))
        target = judge_target(store, judge, config["item"]["query"], config["item"]["response"],
                              chat_model=chat, debug=debug)
    else:
        raise StepError(f"run {run_id} ({kind}) cannot be forked: only curate, adversarial and "
                        "stepped judge runs keep graph checkpoints")
    target.start = None
    return target


def step_target(store: Store, name: str, config: Path | None, overrides: dict[str, Any], *,
                item_key: str | None = None, query: str | None = None,
                response: str | None = None) -> GraphTarget:
    """The target `kindling graph step NAME` drives, from a config file and `--set` overrides.

    Raises:
        ConfigError: a bad config file or override.
        StepError: an unknown graph, or a judge step without --query/--response.
        TargetNotFound: an item key not in the curate selection.
    """
    if name == "curate":
        return curate_target(store, load_config(CurateConfig, config, overrides), item_key)
    if name == "adversarial":
        return adversarial_target(store, load_config(AdversarialConfig, config, overrides))
    if name == "judge":
        if not query or not response:
            raise StepError("stepping the judge graph needs --query and --response")
        return judge_target(store, load_config(JudgeConfig, config, overrides), query, response)
    raise StepError(f"unknown graph {name!r}: curate, adversarial or judge")


async def built_in_thread(store: Store, build: Callable[[], GraphTarget]) -> GraphTarget:
    """`build()` (a run, its models and its item) in a thread. Cancelled meanwhile (the studio
    stops), it waits the thread out, closes the built target's models and marks its run
    stopped, so no run is left running."""
    job = asyncio.ensure_future(asyncio.to_thread(build))
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError as cancelled:
        while not job.done():  # a thread cannot be stopped: wait it out, through cancels too
            try:
                await asyncio.wait({job})
            except asyncio.CancelledError:
                continue
        if job.cancelled() or job.exception() is not None:
            raise cancelled from None  # the build failed: no run, or it ended the one it made
        target = job.result()
        try:
            await target.close()
        finally:
            work.finish_run(store, target.run_id, "stopped",
                            {"error": "cancelled before its first stop (the studio stopped)"})
        raise cancelled from None
