"""The judge's runtime context: what every step reads (model, prompt, store, scope), never globals."""

from __future__ import annotations

from dataclasses import dataclass, field

from kindling.agents.judge.prompt import DetectPrompt
from kindling.agents.judge.results import JudgeStats
from kindling.agents.llm.caller import AgentLLM
from kindling.store.calls import CallLog
from kindling.store.db import Store
from kindling.store.judgments import JudgmentScope


@dataclass
class JudgeContext:
    """Everything a judge step needs, handed in (the graph's runtime context, or the service's)."""

    llm: AgentLLM
    prompt: DetectPrompt
    store: Store
    scope: JudgmentScope
    rules: list[str]
    run_id: int | None
    calls: CallLog | None = None
    stats: JudgeStats = field(default_factory=JudgeStats)
    language: str = "zh"  # the task's language: the guard's rules
