"""What the debugger cannot do for a user: a breakpoint, edit, run, item or checkpoint it
cannot take (the CLI prints the message; the studio answers 400)."""

from __future__ import annotations

from kindling.store.errors import UserError


class StepError(UserError):
    """A breakpoint, edit or target the graph cannot take (unknown node or state field, a run
    that cannot be forked, a judge step without its query and response)."""


class TargetNotFound(StepError, LookupError):
    """A run, item or checkpoint the debugger was asked for that is not there."""
