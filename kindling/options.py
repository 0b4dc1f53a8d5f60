"""Option parsers shared by several commands."""

from __future__ import annotations

from typing import Literal

from kindling.context import fail
from rl.evaluate.metrics import band_names

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
    """A run reference: its id, as `12` or `run:12` (the form `--model run:12` needs), everywhere."""
    import typer

    digits = text.strip().removeprefix("run:")
    if not digits.isdigit():
        raise typer.BadParameter(f"{text!r}: expected a run id such as 12 or run:12 "
                                 "(`kindling runs` lists them)")
    return int(digits)


def parse_edges(text: str) -> tuple[int, ...]:
    """--bands: strictly increasing integers such as 25,39,59 (else `error: ...`, exit 2)."""
    try:
        edges = tuple(int(part) for part in text.split(","))
        band_names(edges)
    except ValueError:
        fail(f"--bands {text!r}: expected strictly increasing integers such as 25,39,59")
    return edges
