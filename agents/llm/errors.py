"""Errors of the LLM layer that light modules (configs, budgets) raise or name without
importing the HTTP client stack."""

from __future__ import annotations

from kindling.store.errors import UserError


class EndpointError(UserError):
    """The endpoint refused the request itself (a structural error): the run stops, not retried."""
