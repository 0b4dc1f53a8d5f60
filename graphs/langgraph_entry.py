"""Compiled graphs for LangGraph's own tooling (`langgraph.json`: `langgraph dev`, LangGraph Studio).

Opening them there shows the same structure Kindling runs; running them there needs the graph's
runtime context (models, store, prompts: `CurateContext`, `AdversarialContext`, `JudgeContext`),
which Kindling's runners build from config, so use `kindling curate|adversarial|judge` to run.
"""

from kindling.graphs.registry import compile_graph

curate = compile_graph("curate")
adversarial = compile_graph("adversarial")
judge = compile_graph("judge")
