"""The agent graphs' structure, rendered locally (no web service): Mermaid, ASCII, SVG, HTML.

Both come from the compiled graph's own node and edge lists (`CompiledStateGraph.get_graph`), so
conditional edges (dotted in Mermaid and ASCII) and parallel branches (several edges out of one
router) are drawn as LangGraph wires them. ASCII layout uses grandalf, as LangGraph does.
"""

from __future__ import annotations

from typing import Any

from kindling.graphs.registry import GraphError, compile_graph

FORMATS = ("mermaid", "ascii", "svg", "html")


def graph_view(name: str, *, xray: bool = False) -> Any:
    """The drawable graph (`langchain_core.runnables.graph.Graph`) of a named agent graph.

    Args:
        name: a graph of `graphs.registry.GRAPHS`.
        xray: Expand subgraphs into their nodes.

    Raises:
        GraphError: an unknown graph name.
    """
    return compile_graph(name).get_graph(xray=xray)


def render(name: str, fmt: str = "mermaid", *, xray: bool = False) -> str:
    """The graph drawn as Mermaid flowchart text, ASCII art, an SVG document or an HTML page.

    Raises:
        GraphError: an unknown graph name or format.
    """
    from kindling.graphs.svg import to_html, to_svg

    if fmt not in FORMATS:
        raise GraphError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    view = graph_view(name, xray=xray)
    draw = {"mermaid": view.draw_mermaid, "ascii": view.draw_ascii,
            "svg": lambda: to_svg(view, f"{name} graph"),
            "html": lambda: to_html(view, f"{name} graph")}[fmt]
    return str(draw())
