"""Option parsers shared by several commands."""

from __future__ import annotations

from kindling.context import fail
from rl.evaluate.metrics import band_names


def parse_edges(text: str) -> tuple[int, ...]:
    """--bands: strictly increasing integers such as 25,39,59 (else `error: ...`, exit 2)."""
    try:
        edges = tuple(int(part) for part in text.split(","))
        band_names(edges)
    except ValueError:
        fail(f"--bands {text!r}: expected strictly increasing integers such as 25,39,59")
    return edges
