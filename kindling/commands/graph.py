"""`kindling graph ...`: look at the agent graphs offline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kindling.config_flags import (
    FORCE_TASK_FLAG,
    TASK_FLAG,
    ConfigFlagCommand,
    config_flags,
    config_overrides,
)
from kindling.context import console, fail
from kindling.options import RUN_NAME_OPTION, GraphFormat, GraphName, parse_run

if TYPE_CHECKING:
    from kindling.debugger.session import Stop
    from kindling.debugger.targets import GraphTarget
    from kindling.store.db import Store

app = typer.Typer(help="See the agent graphs (rendered locally, no web service), step through them, replay stored runs.", no_args_is_help=True)


@app.command("show")
def show(
    name: GraphName = typer.Argument(..., help="The agent graph."),
    fmt: GraphFormat = typer.Option("mermaid", "--format", help="mermaid (flowchart text), ascii, svg or html (a page with the SVG, no scripts)."),
    xray: bool = typer.Option(False, "--xray", help="Expand subgraphs into their nodes."),
    out: Path = typer.Option(None, "--out", help="Write to this file instead of the console."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --out file if it exists."),
) -> None:
    """Draw a graph's nodes and edges: conditional edges dotted, parallel branches as several
    edges out of one router."""
    from kindling.graphs.render import render
    from kindling.outputs import check_output_file, write_text

    if out is not None:
        check_output_file(out, overwrite=overwrite)
    text = render(name, fmt, xray=xray)
    if out is None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
        return
    write_text(out, text)
    console.print(f"{name} graph ({fmt}) → {out}")


@config_flags("kindling.agents.curate.config:CurateConfig", [TASK_FLAG, FORCE_TASK_FLAG],
              before="run_name")  # every graph's run config has task and force_task
def step(
    ctx: typer.Context,
    name: GraphName = typer.Argument(..., help="curate (one item), adversarial (one iteration) or judge (one query/response)."),
    config: Path = typer.Option(None, "--config", "-c", help="The graph's run config (CurateConfig, AdversarialConfig or JudgeConfig YAML)."),
    sets: list[str] = typer.Option([], "--set", help="Any config field as dotted key=value."),
    item: str = typer.Option(None, "--item", help="curate: the item key to step (default: the first selected item)."),
    query: str = typer.Option(None, "--query", help="judge: the query (scenario)."),
    response: str = typer.Option(None, "--response", help="judge: the response to judge."),
    break_before: list[str] = typer.Option([], "--break-before", help="Pause before this node (repeatable; * = every node)."),
    break_after: list[str] = typer.Option([], "--break-after", help="Pause after this node (repeatable; * = every node)."),
    run_name: str = RUN_NAME_OPTION,
) -> None:
    """Run one item through a graph, pausing at breakpoints: see each node's input, state changes
    and agent calls; continue, step, edit a state field, quit. The run is stored like any other."""
    from kindling.agents.config import parse_sets
    from kindling.debugger.session import check_breakpoints
    from kindling.debugger.targets import step_target
    from kindling.graphs.registry import compile_graph
    from kindling.store import work

    check_breakpoints(compile_graph(name, None), name, [*break_before, *break_after])
    store = ctx.obj.open_store()
    overrides = {**config_overrides(ctx), **parse_sets(sets)}
    target = step_target(store, name, config, overrides, item_key=item, query=query,
                         response=response)
    if run_name:
        work.rename_run(store, target.run_id, run_name)
    stop = asyncio.run(_step(store, target, break_before, break_after))
    status = "finished" if stop.finished else f"stopped before {', '.join(stop.next)}"
    console.print(f"run {target.run_id} ({name}) {status}; replay it with "
                  f"`kindling graph replay {target.run_id}"
                  f"{' --item ' + target.item_key if target.item_key and name == 'curate' else ''}`")


app.command("step", cls=ConfigFlagCommand)(step)


async def _step(store: Store, target: GraphTarget, before: list[str], after: list[str]) -> Stop:
    from kindling.checkpoints import open_checkpointer
    from kindling.debugger.console import step_loop
    from kindling.debugger.session import StepSession, mark_left
    from kindling.graphs.registry import compile_graph

    try:
        async with open_checkpointer(store.url) as saver:
            session = StepSession(compile_graph(target.graph, saver), target,
                                  break_before=before, break_after=after)
            stop = await step_loop(session, console)
    except BaseException as exc:  # Ctrl-C, SIGTERM (stopped) or a bug (failed): not left running
        from kindling.store.run_endings import end_run_early

        end_run_early(store, target.run_id, exc)
        raise
    finally:
        target.calls.flush()
        await target.close()
    mark_left(store, target.run_id, stop)
    return stop


@app.command("replay")
def replay(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., parser=parse_run, metavar="RUN", help="A curate, adversarial or stepped judge run."),
    item: str = typer.Option(None, "--item", help="curate/judge runs: the item key (default: the run's first item)."),
    list_only: bool = typer.Option(False, "--list", help="Print every checkpoint's changes and exit."),
    fork_at: int = typer.Option(None, "--fork-at", min=1, help="Fork at this checkpoint (1 = oldest) into a new run and run it to its end."),
    edits: list[str] = typer.Option([], "--edit", help="With --fork-at: a state field to change first, FIELD=VALUE (repeatable; VALUE is JSON when it parses)."),
) -> None:
    """Walk a stored run checkpoint by checkpoint (n/b/g N), print its state, and fork from any
    checkpoint with an edited state into a new run: nodes before the fork are not run again."""
    from kindling.debugger.console import parse_assignments, print_fork, replay_loop
    from kindling.debugger.history import load_history
    from kindling.debugger.replay import fork_run
    from kindling.debugger.view import checkpoint_panel
    from kindling.store.reports import first_item_key

    store = ctx.obj.open_store(writes=fork_at is not None)
    item_key = item or first_item_key(store, run_id)
    steps = asyncio.run(load_history(store, run_id, item_key))
    if not steps:
        fail(f"run {run_id} left no checkpoints{' for item ' + item_key if item_key else ''} "
             "(runs with checkpoint_durability=exit keep only their last one when they ended)")
    if list_only:
        for step_ in steps:
            console.print(checkpoint_panel(step_, len(steps)))
    elif fork_at is not None:
        if fork_at > len(steps):
            fail(f"--fork-at {fork_at}: run {run_id} has {len(steps)} checkpoints")
        at = steps[fork_at - 1]
        outcome = asyncio.run(fork_run(store, run_id, item_key, at, parse_assignments(edits)))
        print_fork(console, run_id, at, outcome)
    else:
        asyncio.run(replay_loop(store, run_id, item_key, steps, console))
