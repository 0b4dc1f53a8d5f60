"""`kindling graph ...`: look at the agent graphs offline."""

from __future__ import annotations

from pathlib import Path

import typer

from kindling.context import console, fail

app = typer.Typer(help="See the agent graphs (rendered locally, no web service).", no_args_is_help=True)


@app.command("show")
def show(
    name: str = typer.Argument(..., help="curate, adversarial or judge."),
    fmt: str = typer.Option("mermaid", "--format", help="mermaid (flowchart text), ascii, svg or html (a page with the SVG, no scripts)."),
    xray: bool = typer.Option(False, "--xray", help="Expand subgraphs into their nodes."),
    out: Path = typer.Option(None, "--out", help="Write to this file instead of the console."),
) -> None:
    """Draw a graph's nodes and edges: conditional edges dotted, parallel branches as several
    edges out of one router."""
    from graphs.render import render

    try:
        text = render(name, fmt, xray=xray)
    except ValueError as exc:
        fail(str(exc))
        return
    if out is None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"{name} graph ({fmt}) → {out}")
