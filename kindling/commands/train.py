"""`kindling train ...`: SFT, reward model and GRPO with TRL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer

from kindling.context import console, fail
from kindling.launcher import Launcher, TrainArgs, accelerate_command, check_accelerate_config

app = typer.Typer(help="Train with TRL: sft, rm, grpo.", no_args_is_help=True)

CONFIG_HELP = ("Run config YAML: a `kindling:` section (model, data, LoRA) and a `trl:` section "
               "(TRL's own config fields, unchanged), or one `sft:`/`rm:`/`grpo:` section per run type "
               "holding both (configs/paper.yaml). Unknown keys are errors.")
SET_HELP = "Override a field, dotted: --set trl.learning_rate=1e-4 --set kindling.limit=100 (value parsed as YAML)."
CONFIG_OPTION = typer.Option(..., "--config", "-c", help=CONFIG_HELP)
SET_OPTION = typer.Option([], "--set", help=SET_HELP)
LAUNCHER_OPTION = typer.Option(
    Launcher.none, "--launcher",
    help="none: train in this process; accelerate: re-run this command under `accelerate launch` "
         "(multi-GPU; only rank 0 writes to the store).")
ACCELERATE_CONFIG_OPTION = typer.Option(
    None, "--accelerate-config",
    help="accelerate config for --launcher accelerate, e.g. configs/accelerate/zero3.yaml "
         "(default: accelerate's own default config).")
OVERWRITE_OPTION = typer.Option(
    False, "--overwrite",
    help="Train into an output_dir that holds an earlier Kindling run's output (a folder Kindling "
         "did not make is always refused).")
NUM_PROCESSES_OPTION = typer.Option(
    None, "--num-processes", min=1,
    help="Processes (GPUs in all) for --launcher accelerate (default: the accelerate config's).")


def _launch_if_asked(train: TrainArgs, launcher: Launcher, accelerate_config: Path | None,
                     num_processes: int | None) -> None:
    """With --launcher accelerate, re-run under `accelerate launch` and exit with its exit code.

    Returns (to train in-process) with --launcher none.
    """
    if launcher is Launcher.none:
        if accelerate_config is not None or num_processes is not None:
            fail("--accelerate-config and --num-processes need --launcher accelerate")
        return
    if accelerate_config is not None:
        try:
            check_accelerate_config(accelerate_config)
        except ValueError as exc:
            fail(str(exc))
    cmd = accelerate_command(train, accelerate_config=accelerate_config, num_processes=num_processes)
    raise typer.Exit(subprocess.run(cmd, check=False).returncode)


def _command(ctx: typer.Context, kind: str, config: Path, sets: list[str], live: bool,
             launcher: Launcher, accelerate_config: Path | None, num_processes: int | None,
             overwrite: bool) -> None:
    """What every `kindling train <kind>` does: launch elsewhere if asked, else train here."""
    from agents.config import ConfigError, parse_sets
    from kindling.services.training import train_from_config

    _launch_if_asked(TrainArgs(kind, config, sets, live, ctx.obj.db_url, overwrite), launcher,
                     accelerate_config, num_processes)
    try:
        run_id, output_dir = train_from_config(ctx.obj.open_store(), kind, config,
                                               parse_sets(sets), live=live, overwrite=overwrite)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))
        return
    console.print(f"{kind} run {run_id} finished; {'policy' if kind == 'grpo' else 'model'} "
                  f"in {output_dir}")


@app.command("sft")
def sft(
    ctx: typer.Context,
    config: Path = CONFIG_OPTION,
    sets: list[str] = SET_OPTION,
    live: bool = typer.Option(True, "--progress/--no-progress", "--live/--no-live", help="Show a live line per logging step (loss, lr, step)."),
    launcher: Launcher = LAUNCHER_OPTION,
    accelerate_config: Path | None = ACCELERATE_CONFIG_OPTION,
    num_processes: int | None = NUM_PROCESSES_OPTION,
    overwrite: bool = OVERWRITE_OPTION,
) -> None:
    """Supervised fine-tuning on an imported dataset (TRL's SFTTrainer); the run goes to the store."""
    _command(ctx, "sft", config, sets, live, launcher, accelerate_config, num_processes,
             overwrite)


@app.command("rm")
def rm(
    ctx: typer.Context,
    config: Path = CONFIG_OPTION,
    sets: list[str] = SET_OPTION,
    live: bool = typer.Option(True, "--progress/--no-progress", "--live/--no-live", help="Show a live line per logging step (loss, pair accuracy, lr)."),
    launcher: Launcher = LAUNCHER_OPTION,
    accelerate_config: Path | None = ACCELERATE_CONFIG_OPTION,
    num_processes: int | None = NUM_PROCESSES_OPTION,
    overwrite: bool = OVERWRITE_OPTION,
) -> None:
    """Reward model on preference pairs (TRL's RewardTrainer); the run goes to the store.

    Without kindling.pairs_run (YAML or --set), the pairs are the latest import run's (the
    paper's RM pairs; pick them with kindling.pairs_dataset, e.g. rm_train).
    """
    _command(ctx, "rm", config, sets, live, launcher, accelerate_config, num_processes,
             overwrite)


@app.command("grpo")
def grpo(
    ctx: typer.Context,
    config: Path = CONFIG_OPTION,
    sets: list[str] = SET_OPTION,
    live: bool = typer.Option(True, "--progress/--no-progress", "--live/--no-live", help="Show a live line per logging step (reward, kl, length, loss)."),
    launcher: Launcher = LAUNCHER_OPTION,
    accelerate_config: Path | None = ACCELERATE_CONFIG_OPTION,
    num_processes: int | None = NUM_PROCESSES_OPTION,
    overwrite: bool = OVERWRITE_OPTION,
) -> None:
    """GRPO on an imported dataset's prompts with named, weighted rewards (TRL's GRPOTrainer)."""
    _command(ctx, "grpo", config, sets, live, launcher, accelerate_config, num_processes,
             overwrite)
