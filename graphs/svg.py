"""SVG (and a self-contained HTML page around it) of an agent graph, laid out offline with grandalf.

Nodes are rounded boxes (start and end as pills), edges polylines with arrow heads, conditional
edges dashed, as in LangGraph's Mermaid output. No JavaScript, no web service, no CDN: the page
opens from disk. Every label is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Collection
from html import escape
from typing import Any

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout
from grandalf.routing import route_with_lines

CHAR_W, BOX_H, PAD, MARGIN = 8.0, 34.0, 16.0, 24.0
START, END = "__start__", "__end__"


class _Box:
    """grandalf's vertex view: a size in, a centre (`xy`) out."""

    def __init__(self, label: str) -> None:
        self.w = len(label) * CHAR_W + 2 * PAD
        self.h = BOX_H
        self.xy = (0.0, 0.0)


class _Path:
    """grandalf's edge view: the routed points."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


def layout(view: Any) -> tuple[dict[str, _Box], list[tuple[str, str, bool, list[tuple[float, float]]]]]:
    """Node boxes and routed edges of a drawable graph (`langchain_core` Graph), top to bottom."""
    vertices = {node_id: Vertex(node_id) for node_id in view.nodes}
    edges = [Edge(vertices[e.source], vertices[e.target], data=bool(e.conditional))
             for e in view.edges]
    for vertex in vertices.values():
        vertex.view = _Box(vertex.data)
    for edge in edges:
        edge.view = _Path()
    graph = Graph(list(vertices.values()), edges)
    x_offset = 0.0
    for component in graph.C:
        sug = SugiyamaLayout(component)
        roots = [v for v in component.sV if not v.e_in()]
        sug.init_all(roots=roots, optimize=True)
        sug.yspace, sug.xspace = BOX_H * 1.6, 2 * PAD
        sug.route_edge = route_with_lines
        sug.draw()
        right = max(v.view.xy[0] + v.view.w / 2 for v in component.sV)
        for v in component.sV:  # components side by side
            v.view.xy = (v.view.xy[0] + x_offset, v.view.xy[1])
        for e in component.sE:
            e.view.points = [(x + x_offset, y) for x, y in e.view.points]
        x_offset += right + 4 * PAD
    boxes = {node_id: vertex.view for node_id, vertex in vertices.items()}
    routed = [(e.v[0].data, e.v[1].data, e.data, e.view.points) for e in edges]
    return boxes, routed


def to_svg(view: Any, title: str, lit: Collection[str] = (),
           current: Collection[str] = ()) -> str:
    """The graph as a standalone SVG document.

    Args:
        view: A drawable graph (`langchain_core` Graph).
        title: The SVG's title.
        lit: Node ids drawn highlighted: their group gets the CSS class `lit` beside `node`
            (every node group carries `data-node="<id>"` for scripts and styles to find it).
        current: Node ids where a paused or unfinished run stands (class `current`, red outline).
    """
    boxes, routed = layout(view)
    min_x = min(b.xy[0] - b.w / 2 for b in boxes.values()) - MARGIN
    min_y = min(b.xy[1] - b.h / 2 for b in boxes.values()) - MARGIN
    width = max(b.xy[0] + b.w / 2 for b in boxes.values()) - min_x + MARGIN
    height = max(b.xy[1] + b.h / 2 for b in boxes.values()) - min_y + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{min_x:.0f} {min_y:.0f} {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" font-family="sans-serif" '
        f'font-size="13"><title>{escape(title)}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for source, target, conditional, points in routed:
        dash = ' stroke-dasharray="5,4"' if conditional else ""
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="edge" data-source="{escape(source)}" '
                     f'data-target="{escape(target)}" data-conditional="{str(conditional).lower()}" '
                     f'points="{coords}" fill="none" stroke="#555"{dash} '
                     'marker-end="url(#arrow)"/>')
    for node_id, box in boxes.items():
        x, y = box.xy[0] - box.w / 2, box.xy[1] - box.h / 2
        pill = node_id in (START, END)
        css = "node" + (" lit" if node_id in lit else "") + (
            " current" if node_id in current else "")
        stroke = '#d32f2f" stroke-width="3' if node_id in current else "#7c6fd6"
        parts.append(
            f'<g class="{css}" data-node="{escape(node_id)}"><rect x="{x:.1f}" y="{y:.1f}" '
            f'width="{box.w:.1f}" height="{box.h:.1f}" rx="{box.h / 2 if pill else 6:.1f}" '
            f'fill="{_fill(pill, node_id in lit)}" stroke="{stroke}"/>'
            f'<text x="{box.xy[0]:.1f}" y="{box.xy[1] + 4:.1f}" text-anchor="middle">'
            f"{escape(node_id)}</text></g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _fill(pill: bool, lit: bool) -> str:
    if lit:
        return "#ffd866"
    return "#ffffff" if pill else "#f2f0ff"


def to_html(view: Any, title: str) -> str:
    """A self-contained HTML page showing the SVG (no scripts, no external assets)."""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title></head>\n<body style=\"margin:1.5rem;"
            f'font-family:sans-serif"><h1 style="font-size:1.1rem">{escape(title)}</h1>\n'
            f"{to_svg(view, title)}\n<p>Dashed edges are conditional.</p></body></html>\n")
