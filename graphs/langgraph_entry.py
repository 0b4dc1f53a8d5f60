"""Compiled graphs for LangGraph's own tooling (`langgraph.json`: `langgraph dev`, LangGraph Studio).

Opening them there shows the same structure Kindling runs; running them there needs the graph's
runtime context (models, store, prompts: `CurateContext`, `AdversarialContext`, `JudgeContext`),
which Kindling's runners build from config, so use `kindling curate|adversarial|judge` to run.
"""

from graphs.adversarial import build_adversarial_graph
from graphs.curate import build_curate_graph
from graphs.judge import build_judge_graph

curate = build_curate_graph().compile()
adversarial = build_adversarial_graph().compile()
judge = build_judge_graph().compile()
