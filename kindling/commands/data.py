"""`kindling data ...`: import the paper's data (or a folder of its layout)."""

import typer

app = typer.Typer(help="Import datasets into the store.", no_args_is_help=True)
