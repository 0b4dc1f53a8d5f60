"""State shared by CLI commands: how to open the store, how to report errors."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console

from store.db import Store

console = Console()
err_console = Console(stderr=True)


@dataclass
class AppState:
    db_url: str | None

    def open_store(self) -> Store:
        return Store(self.db_url)


def fail(message: str, code: int = 2) -> None:
    """Print an error in red to stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
