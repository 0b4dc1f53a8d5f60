"""Path B's graph: validate_start (the starting S_D's figures), then per iteration sample_queries →
generate_flawed → detect → revise_strategies → sample_labelled → detect_labelled →
reflect_on_errors → revise_principles → validate (keep or roll back S_D) → loop or stop."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from kindling.agents.adversarial.play import (
    detect,
    generate_flawed,
    revise_strategies,
    sample_queries,
)
from kindling.agents.adversarial.reflect import (
    detect_labelled,
    reflect_on_errors,
    revise_principles,
    sample_labelled,
    validate,
    validate_start,
)
from kindling.agents.adversarial.state import AdversarialContext, AdversarialState
from langgraph.graph import END, START, StateGraph

STEPS = ("sample_queries", "generate_flawed", "detect", "revise_strategies", "sample_labelled",
         "detect_labelled", "reflect_on_errors", "revise_principles", "validate")


def route_after_validate(state: AdversarialState) -> Literal["sample_queries", "__end__"]:
    """Another iteration unless a stop rule fired."""
    return "__end__" if state.get("stop") else "sample_queries"


def build_adversarial_graph() -> StateGraph[AdversarialState, AdversarialContext, AdversarialState,
                                            AdversarialState]:
    """The uncompiled Path B graph; the caller compiles it with a checkpointer."""
    graph = StateGraph(AdversarialState, context_schema=AdversarialContext)
    nodes = (sample_queries, generate_flawed, detect, revise_strategies, sample_labelled,
             detect_labelled, reflect_on_errors, revise_principles, validate)
    graph.add_node("validate_start", validate_start)
    for name, node in zip(STEPS, nodes, strict=True):
        graph.add_node(name, node)
    graph.add_edge(START, "validate_start")
    graph.add_edge("validate_start", STEPS[0])
    for a, b in pairwise(STEPS):
        graph.add_edge(a, b)
    graph.add_conditional_edges("validate", route_after_validate, ["sample_queries", END])
    return graph
