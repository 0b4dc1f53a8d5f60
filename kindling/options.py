"""Option parsers shared by several commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import typer

from kindling.agents.task_words import FORCE_TASK_HELP
from kindling.context import AppState, current_state, fail
from kindling.rl.evaluate.metrics import band_names

if TYPE_CHECKING:
    from kindling.store.db import Store

MAX_RUN_NAME = 200
"""Longest run name (the store's column)."""


def check_run_name(value: str | None) -> str | None:
    """A run name: 1 to MAX_RUN_NAME characters of one line."""
    if value is None:
        return None
    if not value.strip() or len(value) > MAX_RUN_NAME or "\n" in value:
        raise typer.BadParameter(f"a run name is one line of 1 to {MAX_RUN_NAME} characters "
                                 f"(got {len(value)})")
    return value.strip()


RUN_NAME_OPTION = typer.Option(
    None, "--name", callback=check_run_name,
    help="The run's name in `kindling runs` and the studio (a resumed run takes the new name).")

def check_task(value: str | None) -> str | None:
    """--task: the task must load (read and checked once a process), before anything else runs;
    its error names task.yaml's file, line and field."""
    if value is None:
        return None
    from kindling.agents.task import TaskError, resolve_task

    try:
        resolve_task(value)
    except TaskError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value


TASK_OPTION = typer.Option(
    None, "--task", callback=check_task, metavar="NAME|DIR",
    help="The task: a built-in task's name, a task under ./tasks/ or a task folder (default: the "
         "config's task:, else greetings-zh; see kindling task list).")

BANDS_OPTION = typer.Option(
    None, "--bands", metavar="EDGES",
    help="Length band edges in the task's unit, inclusive upper bounds (25,39,59 → ≤25, 26–39, "
         "40–59, ≥60: the default for a task counted in characters; for a task counted in words "
         "the default is the quartiles of the labelled lengths).")


FORCE_TASK_OPTION = typer.Option(None, "--force-task", show_default=False,
                                 help=f"{FORCE_TASK_HELP} (sets force_task)")


# Choices the CLI shows as choices (`<mermaid|ascii|svg|html>`); tests/unit/test_cli_options.py
# checks each against the registry or table that owns it (a config field's flag takes its choices
# from the field: kindling/config_flags.py).
Shape = Literal["labelled", "pairs", "prompts", "sft", "responses"]
GraphName = Literal["curate", "adversarial", "judge"]
GraphFormat = Literal["mermaid", "ascii", "svg", "html"]
PrincipleKind = Literal["detector", "generator", "debate_judge"]
RunKind = Literal["import", "curate", "pairs", "adversarial", "judge", "sft", "rm", "grpo", "eval",
                  "endpoint"]


def parse_run(text: str) -> int:
    """A run reference, everywhere: its id (`12` or `run:12`, the form `--model run:12` needs) or
    its name (the newest run of that name: `grpo-rm`, `run:grpo-rm`).

    An id no run can have (negative, zero, beyond what the store's id column holds) is "no such
    run" here, before any command sends it to the database. A name no run has is "no such run"
    naming the store and the nearest run names in it.
    """
    from kindling.store.reports import as_run_id

    ref = text.strip().removeprefix("run:")
    run_id = as_run_id(ref)
    if run_id is not None:
        _check_run_id_range(run_id)
        return run_id
    return _run_named(ref)


def _check_run_id_range(run_id: int) -> None:
    """Refuse an id the command's store cannot hold, naming the store."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from kindling.store.db import ID_MAX, resolve_db_url
    from kindling.store.refs import no_run_message
    from kindling.store.reports import run_id_fits

    state = current_state()
    url = resolve_db_url(state.db_url if state is not None else None)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        return  # the URL's own error comes when the command opens the store
    if backend in ID_MAX and not run_id_fits(run_id, backend):
        raise typer.BadParameter(no_run_message(url, run_id))


def _run_named(name: str) -> int:
    """The id of the newest run with this name in the command's store (--db-url).

    Raises:
        typer.BadParameter: no run has that name (outside a command line: no store to look in).
    """
    from kindling.store.refs import no_run_message
    from kindling.store.reports import run_id_by_name

    state = current_state()
    store = _open_store(state) if state is not None else None
    found = run_id_by_name(store, name) if store is not None and name else None
    if found is None:
        raise typer.BadParameter(no_run_message(store, name))
    return found


def _open_store(state: AppState) -> Store:
    """The command's store, read only: one that cannot be opened (missing, foreign) is the
    command's error, said as any command says it, not an invalid RUN."""
    from kindling.store.errors import StoreError

    try:
        return state.open_store(writes=False)
    except StoreError as exc:
        fail(str(exc))


def parse_edges(text: str) -> tuple[int, ...]:
    """--bands: strictly increasing integers such as 25,39,59 (else `error: ...`, exit 2)."""
    try:
        edges = tuple(int(part) for part in text.split(","))
        band_names(edges)
    except ValueError:
        fail(f"--bands {text!r}: expected strictly increasing integers such as 25,39,59")
    return edges

