"""`kindling eval ...`: evaluate judges against labelled data (length-only baseline beside)."""

import typer

app = typer.Typer(help="Evaluate judges against labelled data.", no_args_is_help=True)
