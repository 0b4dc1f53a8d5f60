"""The one registry of Kindling's agent graphs: name → builder, the run kind that runs it, and the
runtime context its nodes read. The renderer, `langgraph.json` (through graphs/langgraph_entry.py),
the debugger and the studio all look graphs up here; builders are imported on first use, so the
registry is cheap to read (the CLI's help does not load LangGraph).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from kindling.store.errors import UserError


class GraphError(UserError):
    """A graph name no graph has, a format it cannot be drawn in, or a run kind that ran none."""


@dataclass(frozen=True)
class GraphEntry:
    """One agent graph.

    Attributes:
        name: the graph's name (also its checkpoint threads' prefix).
        builder: "module:function" returning the uncompiled StateGraph.
        run_kind: the kind of run (`runs.kind`) whose items run this graph.
        context: the runtime context its nodes read (models, prompts, store).
        summary: what one pass of the graph does, in a line.
    """

    name: str
    builder: str
    run_kind: str
    context: str
    summary: str

    def build(self) -> Any:
        """The uncompiled StateGraph."""
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(module), function)()


GRAPHS: dict[str, GraphEntry] = {entry.name: entry for entry in (
    GraphEntry("curate", "kindling.graphs.curate:build_curate_graph", "curate",
               "agents.curate.context.CurateContext",
               "Path A, one item: retrieve → [generate] → advocate ∥ critic → judge → reflect → persist"),
    GraphEntry("adversarial", "kindling.graphs.adversarial:build_adversarial_graph", "adversarial",
               "agents.adversarial.state.AdversarialContext",
               "Path B, one run: Generator vs Detector, reflection, validation, until a stop rule"),
    GraphEntry("judge", "kindling.graphs.judge:build_judge_graph", "judge",
               "agents.judge.context.JudgeContext",
               "the principle-guided judge, one (query, response): guard → detect → record"),
)}


def graph_entry(name: str) -> GraphEntry:
    """The registered graph of this name.

    Raises:
        GraphError: an unknown name (the known ones are listed).
    """
    if name not in GRAPHS:
        raise GraphError(f"unknown graph {name!r}; known: {', '.join(GRAPHS)}")
    return GRAPHS[name]


def compile_graph(name: str, checkpointer: Any = None) -> Any:
    """The named graph compiled, with a checkpointer when given (for stepping and resume)."""
    return graph_entry(name).build().compile(checkpointer=checkpointer)


def graph_of_run(kind: str) -> str | None:
    """The graph a run of this kind ran, or None (import, training and eval runs have none)."""
    return next((g.name for g in GRAPHS.values() if g.run_kind == kind), None)


def require_graph_of_run(kind: str) -> str:
    """As `graph_of_run`, for a run that must have one.

    Raises:
        GraphError: the kind has no graph.
    """
    graph = graph_of_run(kind)
    if graph is None:
        *rest, last = [g.run_kind for g in GRAPHS.values()]
        runs = f"{', '.join(rest)} and {last}"
        raise GraphError(f"runs of kind {kind!r} have no agent graph (only {runs} runs do)")
    return graph
