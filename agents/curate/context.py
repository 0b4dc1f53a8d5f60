"""Runtime context handed to every node: models, prompts, store access. Never module globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from kindling.agents.curate.policy_sampler import PolicySampler
from kindling.agents.llm.caller import AgentLLM
from kindling.agents.retrieval import Retriever
from kindling.agents.templates import PromptLibrary
from kindling.store.principle_io import PrincipleSet


class VerdictSink(Protocol):
    """Persists one item's outcome (verdict or recorded failure) and closes the item, atomically."""

    def persist(self, state: dict[str, Any]) -> int: ...

    async def persist_soon(self, state: dict[str, Any]) -> int:
        """`persist`, grouped with the other items that end in the same turn."""
        ...


@dataclass
class CurateContext:
    run_id: int
    agents: AgentLLM
    generator: AgentLLM
    prompts: PromptLibrary
    principles: PrincipleSet | None  # None under the paper's prompts (its judge takes no list)
    principle_version_id: int | None
    retriever: Retriever
    exemplars_k: int
    sink: VerdictSink
    policy: PolicySampler | None = None  # the policy model writes candidates (batched)
    prompt_set: str = "paper"  # prompts/curate/<prompt_set>/: paper (the seed's method) or kindling
