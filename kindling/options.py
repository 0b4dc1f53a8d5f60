"""Option parsers shared by several commands."""

from __future__ import annotations

from typing import Literal

import typer

from kindling.context import current_state, fail
from kindling.rl.evaluate.metrics import band_names

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

# Choices the CLI shows as choices (`<local|openai>`); tests/unit/test_cli_options.py checks each
# against the config, registry or table that owns it.
Backend = Literal["local", "openai"]
CurateSource = Literal["dataset", "generate"]
PromptSet = Literal["paper", "kindling"]
Shape = Literal["labelled", "pairs", "prompts", "sft", "responses"]
GraphName = Literal["curate", "adversarial", "judge"]
GraphFormat = Literal["mermaid", "ascii", "svg", "html"]
PrincipleKind = Literal["detector", "generator", "judge"]
RunKind = Literal["import", "curate", "pairs", "adversarial", "judge", "sft", "rm", "grpo", "eval",
                  "endpoint"]


def parse_run(text: str) -> int:
    """A run reference, everywhere: its id (`12` or `run:12`, the form `--model run:12` needs) or
    its name (the newest run of that name: `grpo-rm`, `run:grpo-rm`).

    An id no run can have (negative, zero, beyond what the store's id column holds) is "no such
    run" here, before any command sends it to the database.
    """
    from kindling.store.reports import as_run_id

    ref = text.strip().removeprefix("run:")
    run_id = as_run_id(ref)
    if run_id is not None:
        _check_run_id_range(run_id)
        return run_id
    found = _run_named(ref) if ref else None
    if found is None:
        raise typer.BadParameter(f"{text!r}: no run with that name{_in_store()}; expected a run "
                                 "id such as 12 or run:12, or the name of a run (`kindling "
                                 "runs` lists ids and names)")
    return found


def _check_run_id_range(run_id: int) -> None:
    """Refuse an id the command's store cannot hold, naming the store."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from kindling.store.db import ID_MAX, resolve_db_url
    from kindling.store.reports import no_run_message, run_id_fits

    state = current_state()
    url = resolve_db_url(state.db_url if state is not None else None)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        return  # the URL's own error comes when the command opens the store
    if backend in ID_MAX and not run_id_fits(run_id, backend):
        raise typer.BadParameter(no_run_message(url, run_id))


def _in_store() -> str:
    """' in the store URL' for the command's store (empty outside a command line)."""
    from kindling.store.db import resolve_db_url, shown_url

    state = current_state()
    return "" if state is None else f" in the store {shown_url(resolve_db_url(state.db_url))}"


def _run_named(name: str) -> int | None:
    """The id of the newest run with this name in the command's store (--db-url), if any."""
    from kindling.store.reports import run_id_by_name

    state = current_state()
    if state is None:
        return None
    return run_id_by_name(state.open_store(writes=False), name)


def parse_edges(text: str) -> tuple[int, ...]:
    """--bands: strictly increasing integers such as 25,39,59 (else `error: ...`, exit 2)."""
    try:
        edges = tuple(int(part) for part in text.split(","))
        band_names(edges)
    except ValueError:
        fail(f"--bands {text!r}: expected strictly increasing integers such as 25,39,59")
    return edges
