"""One debug session as the studio holds it, and what the page is told about it.

A session exists from the moment its start (or fork) is asked for; its `StepSession`, target
and first stop come when the start action, running in the background, has built them. Until
then, and while any later action runs, the view says what is running (the action, the nodes,
the elapsed time, a backend's notice); after an action, the stop it reached and the item's
warnings there.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from typing import Any

from kindling.debugger.session import StepSession, Stop
from kindling.debugger.targets import GraphTarget
from kindling.studio.debug_worker import ActionRunner

MAX_KEPT_CALLS = 500
"""Agent calls a session keeps for its warnings (the newest; a stepped item makes a dozen)."""


@dataclass(frozen=True)
class ConfigUsed:
    """The config a session runs: the project's file (None: the built-in defaults, or a fork's
    source run's stored config), the project folder, and the overrides given."""

    name: str | None
    file: str | None
    project: str
    sets: list[str] = field(default_factory=list)
    forked_from: int | None = None


@dataclass
class OpenSession:
    """A session: its background runner, and once started its stepping session and last stop."""

    id: str
    graph: str
    config: ConfigUsed
    break_before: list[str]
    break_after: list[str]
    runner: ActionRunner = field(default_factory=ActionRunner)
    session: StepSession | None = None
    target: GraphTarget | None = None
    stack: AsyncExitStack | None = None
    stop: Stop | None = None
    run_config: dict[str, Any] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)  # every node run in this session, in order
    calls: list[dict[str, Any]] = field(default_factory=list)  # every agent call, oldest first
    warnings: list[str] = field(default_factory=list)  # the item's warnings at the last stop
    ended: bool = False

    def opened(self, session: StepSession, stack: AsyncExitStack, stop: Stop,
               run_config: dict[str, Any]) -> None:
        """The start action built the session and reached its first stop."""
        self.session, self.target, self.stack = session, session.target, stack
        self.run_config = run_config
        self.reached(stop)

    def reached(self, stop: Stop) -> None:
        """An action ended at `stop`."""
        self.stop = stop
        self.ran += stop.ran
        self.calls = (self.calls + stop.calls)[-MAX_KEPT_CALLS:]

    def view(self) -> dict[str, Any]:
        """JSON-safe: what runs now, where it stands, what ran, the state, what changed, the
        latest calls, the warnings there, the config it runs and any error of the last action."""
        stop, error = self.stop, self.runner.error
        activity = self.runner.view()
        if activity is not None:
            activity["running"] = self.session.running if self.session is not None else []
        return {
            "id": self.id, "graph": self.graph, "ended": self.ended,
            "run_id": self.target.run_id if self.target else None,
            "item_key": self.target.item_key if self.target else None,
            "busy": activity is not None, "activity": activity,
            "error": None if error is None else {"action": error.action, "message": error.message},
            "started": stop is not None,
            "reason": None if stop is None else (
                stop.reason if not self.ended or stop.finished else "quit"),
            "ran": stop.ran if stop else [], "ran_all": self.ran,
            "next": stop.next if stop else [], "finished": bool(stop and stop.finished),
            "state": stop.state if stop else {}, "changed": stop.changed if stop else {},
            "calls": stop.calls if stop else [], "warnings": self.warnings,
            "break_before": self.break_before, "break_after": self.break_after,
            "config": asdict(self.config)}
