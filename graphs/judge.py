"""The principle-guided judge's graph: guard_response → (flagged → record) else detect → record.

One (query, response) per run; the nodes (agents/judge/nodes.py) run the same steps `JudgeService`
runs for batches (agents/judge/steps.py). The graph is for rendering, stepping and single-item
judging.
"""

from __future__ import annotations

from typing import Literal

from kindling.agents.judge.context import JudgeContext
from kindling.agents.judge.nodes import detect, guard_response, record
from kindling.agents.judge.state import JudgeState
from langgraph.graph import END, START, StateGraph


def route_after_guard(state: JudgeState) -> Literal["detect", "record"]:
    """A flagged response skips the Detector (no LLM call) and is recorded with the lowest score."""
    return "record" if state.get("flagged") else "detect"


def build_judge_graph() -> StateGraph[JudgeState, JudgeContext, JudgeState, JudgeState]:
    """The uncompiled judge graph; the caller compiles it (with a checkpointer to step it)."""
    graph = StateGraph(JudgeState, context_schema=JudgeContext)
    graph.add_node("guard_response", guard_response)
    graph.add_node("detect", detect)
    graph.add_node("record", record)
    graph.add_edge(START, "guard_response")
    graph.add_conditional_edges("guard_response", route_after_guard, ["detect", "record"])
    graph.add_edge("detect", "record")
    graph.add_edge("record", END)
    return graph
