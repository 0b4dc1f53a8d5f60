"""The item page's warnings (kindling.studio.item_checks) at a debugger stop.

At a stop the item is not stored yet: its texts and verdict are in the graph's state, its agent
calls are the session's, its edits are the thread's checkpoints. This module shapes those as the
item page's checks take them, so a stop warns of the same things the item's page will.
"""

from __future__ import annotations

from typing import Any

from kindling.debugger.history import thread_steps
from kindling.debugger.session import StepSession
from kindling.studio.item_checks import item_warnings


def item_of_state(graph: str, state: dict[str, Any]) -> dict[str, Any]:
    """The item as the item page sees it once stored, from the graph's state now.

    A curate item's verdict is the row the `persist` node will write (store/curate_verdicts.py):
    status "ok" once a final verdict exists, "failed" when errors stopped the item before one.
    """
    if graph == "curate":
        errors = state.get("errors") or []
        final = state.get("final_verdict")
        status = "ok" if final is not None else ("failed" if errors else None)
        verdict = {"status": status, "initial": state.get("initial_verdict"), "final": final,
                   "pros": state.get("pros", []), "cons": state.get("cons", []),
                   "error": "; ".join(map(str, errors)) or None}
        return {"query": state.get("query"), "response": state.get("candidate"),
                "verdict": verdict}
    if graph == "judge":
        return {"query": state.get("query"), "response": state.get("response"),
                "verdict": state.get("verdict")}
    return {}


async def stop_warnings(session: StepSession, state: dict[str, Any],
                        calls: list[dict[str, Any]], run_config: dict[str, Any]) -> list[str]:
    """The warnings the item's page would give for what the session holds at this stop.

    Args:
        session: The stepping session (its graph reads the thread's checkpoints).
        state: The state at the stop.
        calls: Every agent call of the session so far, oldest first.
        run_config: The run's stored config (a fork's origin is warned of).
    """
    steps = await thread_steps(session.graph, session.target.thread_id)
    history = [{"ran": list(s.ran), "next": list(s.next), "changed": s.changed} for s in steps]
    return item_warnings(item_of_state(session.target.graph, state), calls, history, run_config)
