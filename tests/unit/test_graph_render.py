"""`kindling graph show`: every node and edge of each compiled graph appears in its rendering."""

from __future__ import annotations

import re

import pytest
from kindling.graphs.registry import GRAPHS, graph_of_run, require_graph_of_run
from kindling.graphs.render import graph_view, render
from typer.testing import CliRunner

from kindling.cli import app


@pytest.mark.parametrize("name", list(GRAPHS))
def test_mermaid_has_every_node_and_edge_with_conditional_edges_dotted(name: str) -> None:
    view = graph_view(name)
    text = render(name, "mermaid")
    for node in view.nodes:
        assert re.search(rf"^\s*{re.escape(node)}[(\[]", text, re.M), node
    drawn = set(re.findall(r"^\s*(\S+) (-->|-\.->) (\S+?);$", text, re.M))
    expected = {(e.source, "-.->" if e.conditional else "-->", e.target) for e in view.edges}
    assert drawn == expected


@pytest.mark.parametrize("name", list(GRAPHS))
def test_ascii_boxes_every_node(name: str) -> None:
    text = render(name, "ascii")
    for node in graph_view(name).nodes:
        assert f"| {node} |" in text, node


def test_curate_debate_is_two_parallel_conditional_branches_joining_at_the_judge() -> None:
    edges = {(e.source, e.target, e.conditional) for e in graph_view("curate").edges}
    for side in ("advocate", "critic"):
        assert ("generate_candidate", side, True) in edges
        assert (side, "judge", False) in edges


def test_cli_show_writes_a_file_and_rejects_unknown_names(tmp_path) -> None:
    out = tmp_path / "judge.mmd"
    ok = CliRunner().invoke(app, ["graph", "show", "judge", "--out", str(out)])
    assert ok.exit_code == 0 and out.read_text(encoding="utf-8").lstrip().startswith("---")
    bad = CliRunner().invoke(app, ["graph", "show", "nope"])
    assert bad.exit_code == 2 and "'nope' is not one of 'curate'" in bad.output
    bad_fmt = CliRunner().invoke(app, ["graph", "show", "judge", "--format", "png"])
    assert bad_fmt.exit_code == 2 and "'png' is not one of 'mermaid'" in bad_fmt.output


def test_langgraph_json_points_at_the_same_compiled_graphs() -> None:
    import importlib
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = json.loads((root / "langgraph.json").read_text(encoding="utf-8"))
    assert set(spec["graphs"]) == set(GRAPHS)
    for name, target in spec["graphs"].items():
        path, _, attr = target.partition(":")
        assert (root / path).is_file()
        module = importlib.import_module(path.removeprefix("./").removesuffix(".py").replace("/", "."))
        compiled = getattr(module, attr)
        assert list(compiled.get_graph().nodes) == list(graph_view(name).nodes)


@pytest.mark.parametrize("name", list(GRAPHS))
def test_svg_draws_every_node_and_edge_and_html_has_no_scripts(name: str) -> None:
    import xml.etree.ElementTree as ET

    view = graph_view(name)
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(render(name, "svg"))
    nodes = [g.get("data-node") for g in root.iterfind("s:g", ns)]
    assert sorted(nodes) == sorted(view.nodes)
    drawn = {(p.get("data-source"), p.get("data-target"), p.get("data-conditional"))
             for p in root.iterfind("s:polyline", ns)}
    assert drawn == {(e.source, e.target, str(bool(e.conditional)).lower()) for e in view.edges}
    for p in root.iterfind("s:polyline", ns):
        assert len(p.get("points", "").split()) >= 2
        assert ("stroke-dasharray" in p.attrib) == (p.get("data-conditional") == "true")
    page = render(name, "html")
    assert "<script" not in page and "http://" not in page.replace(ns["s"], "")
    assert page.count("<svg") == 1


def test_the_registry_maps_run_kinds_to_graphs() -> None:
    assert {kind: graph_of_run(kind) for kind in ("curate", "adversarial", "judge", "sft")} == {
        "curate": "curate", "adversarial": "adversarial", "judge": "judge", "sft": None}
    with pytest.raises(ValueError, match="runs of kind 'sft' have no agent graph"):
        require_graph_of_run("sft")
    with pytest.raises(ValueError, match="unknown graph 'nope'; known: curate, adversarial, judge"):
        graph_view("nope")
