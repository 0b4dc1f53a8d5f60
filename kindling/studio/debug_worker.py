"""One debug session's actions, run in the background one at a time.

The request that asks for an action (start, fork, continue, step, edit) returns at once; the
action runs as an asyncio task in the studio's event loop (its blocking parts in threads) and
the page polls what it is doing: which action, for how long, and what a slow backend step says
about itself (agents/llm/notices.py: "starting the local llama.cpp server ..."). An action that
fails leaves its error for the page to show; the next action clears it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kindling.agents.llm.notices import listen, stop_listening
from kindling.agents.llm.redaction import redact
from kindling.store.errors import UserError

log = logging.getLogger(__name__)


class Busy(Exception):
    """An action asked for while another one of the same session runs (HTTP 409)."""


@dataclass
class Activity:
    """The action running now: its name, when it began (monotonic seconds), and what a backend
    step says it is doing (None when nothing is said)."""

    action: str
    began: float
    notice: str | None = None


@dataclass(frozen=True)
class ActionError:
    """Why the last action did not finish."""

    action: str
    message: str


def said_to_the_user(exc: BaseException) -> bool:
    """Whether an error's words are meant for the user: a UserError, or a plain ValueError or
    LookupError the debugger's targets raise (a KeyError is a bug, not a message)."""
    return isinstance(exc, UserError) or type(exc) in (ValueError, LookupError)


def describe(exc: BaseException) -> str:
    """An error as the page shows it: a user error's own words, anything else with its type;
    API keys removed."""
    words, name = str(exc), type(exc).__name__
    if said_to_the_user(exc) and words:
        return redact(words)
    return redact(f"{name}: {words}" if words else name)


class ActionRunner:
    """Runs one coroutine at a time in the background and says what it is doing.

    Args:
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.activity: Activity | None = None
        self.error: ActionError | None = None
        self._task: asyncio.Task[None] | None = None
        self._clock = clock

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def running_action(self) -> str | None:
        """The action running now, or None."""
        return self.activity.action if self.busy and self.activity else None

    def launch(self, action: str, work: Callable[[], Awaitable[object]]) -> None:
        """Start `work` in the background as `action`.

        Raises:
            Busy: another action still runs.
        """
        if self.busy and self.activity is not None:
            raise Busy(f"this session is still running {self.activity.action} (for "
                       f"{self.elapsed():.0f} s): wait for it to stop, or quit")
        self.error = None
        self.activity = Activity(action, self._clock())
        self._task = asyncio.get_running_loop().create_task(self._run(action, work))

    def elapsed(self) -> float:
        """Seconds since the running action began (0 when none runs)."""
        return self._clock() - self.activity.began if self.activity is not None else 0.0

    def view(self) -> dict[str, Any] | None:
        """JSON-safe: the running action, its elapsed seconds and a backend notice; None when
        idle."""
        if not self.busy or self.activity is None:
            return None
        return {"action": self.activity.action, "elapsed_s": round(self.elapsed(), 1),
                "notice": self.activity.notice}

    def in_worker(self) -> bool:
        """Whether the caller is this runner's own background task."""
        return self._task is not None and asyncio.current_task() is self._task

    async def settled(self, timeout: float) -> None:
        """Wait until the running action ends, at most `timeout` seconds."""
        if self.busy and self._task is not None:
            await asyncio.wait({self._task}, timeout=timeout)

    async def cancel(self) -> None:
        """Cancel the running action and wait until it has stopped."""
        if self.busy and self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})

    async def _run(self, action: str, work: Callable[[], Awaitable[object]]) -> None:
        token = listen(self._hear)
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure reaches the page
            if not said_to_the_user(exc):
                log.exception("debug action %s failed", action)
            self.error = ActionError(action, describe(exc))
        finally:
            stop_listening(token)
            self.activity = None

    def _hear(self, notice: str | None) -> None:
        """A backend's notice (called from the action's threads too: one attribute store)."""
        if self.activity is not None:
            self.activity.notice = notice
