"""`kindling train ...`: SFT, reward model and GRPO with TRL."""

from __future__ import annotations

from pathlib import Path

import typer

from kindling.config import ConfigError
from kindling.context import console, fail

app = typer.Typer(help="Train with TRL: sft, rm, grpo.", no_args_is_help=True)

CONFIG_HELP = ("Run config YAML: a `kindling:` section (model, data, LoRA) and a `trl:` section "
               "(TRL's own config fields, unchanged). Unknown keys are errors.")
SET_HELP = "Override a field, dotted: --set trl.learning_rate=1e-4 --set kindling.limit=100 (value parsed as YAML)."


@app.command("sft")
def sft(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", help=CONFIG_HELP),
    sets: list[str] = typer.Option([], "--set", help=SET_HELP),
    live: bool = typer.Option(True, help="Show a live line per logging step (loss, lr, step)."),
) -> None:
    """Supervised fine-tuning on an imported dataset (TRL's SFTTrainer); the run goes to the store."""
    from kindling.commands.curate import parse_sets
    from rl.sft import prepare_sft, train_sft
    from rl.train_config import KindlingSFT, load_train_config

    try:
        kcfg, trl_cfg = load_train_config("sft", config, parse_sets(sets))
        assert isinstance(kcfg, KindlingSFT)
        store = ctx.obj.open_store()
        setup = prepare_sft(store, kcfg, trl_cfg)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))
        return
    run_id = train_sft(store, setup, live=live)
    console.print(f"sft run {run_id} finished; model in {trl_cfg.output_dir}")
