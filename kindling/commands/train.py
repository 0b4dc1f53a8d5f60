"""`kindling train ...`: SFT, reward model and GRPO with TRL."""

import typer

app = typer.Typer(help="Train with TRL: sft, rm, grpo.", no_args_is_help=True)
