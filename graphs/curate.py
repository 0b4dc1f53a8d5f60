"""Path A's graph: retrieve_exemplars → [generate_candidate] → advocate ∥ critic → judge → reflect → persist."""

from __future__ import annotations

from typing import Literal

from kindling.agents.curate.context import CurateContext
from kindling.agents.curate.nodes import (
    advocate,
    critic,
    generate_candidate,
    judge,
    persist,
    reflect,
    retrieve_exemplars,
)
from kindling.agents.curate.state import CurateState
from langgraph.graph import END, START, StateGraph

Debate = list[Literal["advocate", "critic"]]


def route_after_retrieval(state: CurateState) -> Literal["generate_candidate"] | Debate:
    """Generate a candidate first when the item has none; otherwise debate it."""
    return "generate_candidate" if not state.get("candidate") else ["advocate", "critic"]


def route_after_generation(state: CurateState) -> Literal["persist"] | Debate:
    return "persist" if state.get("errors") else ["advocate", "critic"]


def route_after_judge(state: CurateState) -> Literal["reflect", "persist"]:
    return "persist" if state.get("errors") else "reflect"


def build_curate_graph() -> StateGraph[CurateState, CurateContext, CurateState, CurateState]:
    """The uncompiled Path A graph; the caller compiles it with a checkpointer."""
    graph = StateGraph(CurateState, context_schema=CurateContext)
    graph.add_node("retrieve_exemplars", retrieve_exemplars)
    graph.add_node("generate_candidate", generate_candidate)
    graph.add_node("advocate", advocate)
    graph.add_node("critic", critic)
    graph.add_node("judge", judge)
    graph.add_node("reflect", reflect)
    graph.add_node("persist", persist)
    graph.add_edge(START, "retrieve_exemplars")
    graph.add_conditional_edges("retrieve_exemplars", route_after_retrieval,
                                ["generate_candidate", "advocate", "critic"])
    graph.add_conditional_edges("generate_candidate", route_after_generation,
                                ["advocate", "critic", "persist"])
    graph.add_edge(["advocate", "critic"], "judge")
    graph.add_conditional_edges("judge", route_after_judge, ["reflect", "persist"])
    graph.add_edge("reflect", "persist")
    graph.add_edge("persist", END)
    return graph
