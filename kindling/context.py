"""State shared by CLI commands: how to open the store, how to report errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from kindling.store.db import Store

console = Console()
err_console = Console(stderr=True)


@dataclass
class AppState:
    db_url: str | None

    def open_store(self, *, writes: bool = True) -> Store:
        """The store, migrated; for a command that `writes`, checked to be writable first (so a
        read-only store fails before any work, not at its end). Only a command that writes may
        create the store: a read-only one refuses a missing SQLite file or an empty database."""
        from kindling.store.db import Store

        store = Store(self.db_url, create=writes)
        if writes:
            store.check_writable()
        return store


_current: AppState | None = None


def set_current_state(state: AppState) -> None:
    """The command line being run's state (the root callback sets it), for option parsers that
    read the store: a run given by name is looked up in the store the command uses."""
    global _current
    _current = state


def current_state() -> AppState | None:
    """The state `set_current_state` set (None outside a command line)."""
    return _current


def one_line(message: str) -> str:
    """A message's lines joined by '; ' (an error is one line on the terminal)."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: <message>` on one line to stderr (never wrapped, no markup) and exit.

    Exit status 2: bad input or environment, nothing done; 1: the work ran and failed. API keys
    in use are redacted (a message may quote what an endpoint said).
    """
    from kindling.agents.llm.redaction import redact

    err_console.print(Text.assemble(("error: ", "bold red"), one_line(redact(message))),
                      soft_wrap=True, highlight=False)
    raise typer.Exit(code)
