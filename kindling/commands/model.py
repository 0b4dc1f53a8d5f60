"""`kindling model ...`: build or inspect policy models (a tiny Qwen2-shaped model for CPU)."""

import typer

app = typer.Typer(help="Build or inspect policy models.", no_args_is_help=True)
