"""Option parsers shared by several commands."""

from __future__ import annotations

from typing import Literal

import typer

from kindling.context import fail
from rl.evaluate.metrics import band_names

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
    its name (the newest run of that name: `grpo-rm`, `run:grpo-rm`)."""
    ref = text.strip().removeprefix("run:")
    if ref.isdigit():
        return int(ref)
    found = _run_named(ref) if ref else None
    if found is None:
        raise typer.BadParameter(f"{text!r}: expected a run id such as 12 or run:12, or the "
                                 "name of a run (`kindling runs` lists ids and names)")
    return found


def _run_named(name: str) -> int | None:
    """The id of the newest run with this name in the command's store (--db-url), if any."""
    from kindling.context import current_state
    from store.reports import run_id_by_name

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
