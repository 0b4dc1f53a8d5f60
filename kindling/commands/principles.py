"""`kindling principles ...`: list, show, diff, activate, export, import and edit principle versions."""

import typer

app = typer.Typer(help="Principle versions (Path B's S_D and S_G, and judge rules).", no_args_is_help=True)
