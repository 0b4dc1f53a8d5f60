"""Errors of the LLM layer that light modules (configs, budgets) raise or name without
importing the HTTP client stack."""

from __future__ import annotations

from kindling.store.errors import UserError


class LLMConfigError(UserError):
    """The backend cannot be built from this config (e.g. the key's variable is not set, the
    local model is not there)."""


class EndpointError(UserError):
    """The endpoint refused the request itself (a structural error): the run stops, not retried."""


class CallAttemptError(Exception):
    """An agent call's request failed for good (the error is `cause`, also its `__cause__`).

    Raised and caught inside the caller (agents/llm/caller.py), so that what the attempt was
    travels with the error instead of being written onto the library's exception.

    Attributes:
        cause: the error the last attempt failed with.
        attempt: that attempt's number (its `agent_calls` row's `attempt`).
        mode: the structured-output mode its request went out in; None when it was not sent
            over HTTP.
    """

    def __init__(self, cause: Exception, attempt: int, mode: str | None) -> None:
        super().__init__(f"attempt {attempt}: {type(cause).__name__}: {cause}")
        self.cause, self.attempt, self.mode = cause, attempt, mode
