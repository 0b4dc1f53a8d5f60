"""`kindling train ...`: SFT, reward model and GRPO with TRL."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import typer

from agents.config import ConfigError
from kindling.context import console, fail
from kindling.launcher import Launcher, TrainArgs, accelerate_command, check_accelerate_config
from kindling.outputs import check_claimable, claim_dir
from store.db import Store

app = typer.Typer(help="Train with TRL: sft, rm, grpo.", no_args_is_help=True)

CONFIG_HELP = ("Run config YAML: a `kindling:` section (model, data, LoRA) and a `trl:` section "
               "(TRL's own config fields, unchanged), or one `sft:`/`rm:`/`grpo:` section per run type "
               "holding both (configs/paper.yaml). Unknown keys are errors.")
SET_HELP = "Override a field, dotted: --set trl.learning_rate=1e-4 --set kindling.limit=100 (value parsed as YAML)."
CONFIG_OPTION = typer.Option(..., "--config", help=CONFIG_HELP)
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


def train_from_config(store: Store, kind: str, config: Path | None, overrides: dict[str, Any],
                      *, live: bool, overwrite: bool = False) -> tuple[int, str]:
    """Load a run config, check everything, then train in this process.

    An `rm` run without kindling.pairs_run (YAML or override) takes the latest import run's pairs.
    The output folder must be new, empty, or Kindling's own (then only with `overwrite`); it is
    checked before anything is loaded and claimed (made and marked) just before training.

    Returns:
        (the run id, the output folder).

    Raises:
        ConfigError, ValueError: before any training starts (bad config, data, model, ...).
    """
    from rl.grpo import prepare_grpo, train_grpo
    from rl.reward_model import prepare_rm, train_rm
    from rl.sft import prepare_sft, train_sft
    from rl.train_config import load_train_config

    if kind == "rm" and "kindling.pairs_run" not in overrides and not _yaml_sets_pairs_run(config):
        overrides = {**overrides, "kindling.pairs_run": _latest_import_run(store)}
    kcfg, trl_cfg = load_train_config(kind, config, overrides)
    output_dir, main = Path(trl_cfg.output_dir), trl_cfg.process_index == 0
    if main:
        check_claimable(output_dir, overwrite=overwrite, flag="trl.output_dir")
    prepare, train = {"sft": (prepare_sft, train_sft), "rm": (prepare_rm, train_rm),
                      "grpo": (prepare_grpo, train_grpo)}[kind]
    setup = prepare(store, kcfg, trl_cfg)  # type: ignore[operator]
    if main:
        claim_dir(output_dir, overwrite=overwrite, command=f"kindling train {kind}",
                  flag="trl.output_dir")
    return train(store, setup, live=live), str(trl_cfg.output_dir)  # type: ignore[operator]


def _latest_import_run(store: Store) -> int:
    from rl.reward_model import latest_import_run

    latest = latest_import_run(store)
    if latest is None:
        raise ValueError("no import run in the store and no kindling.pairs_run given: "
                         "import first (`kindling data import`)")
    console.print(f"pairs from the latest import run, {latest}")
    return latest


def _yaml_sets_pairs_run(config: Path | None) -> bool:
    """Whether the YAML file gives kindling.pairs_run (its `rm:` section in a multi-run file)."""
    from rl.train_config import read_run_yaml

    if config is None:
        return False
    try:
        data, _ = read_run_yaml("rm", config)
    except ConfigError:  # load_train_config reports it with the file's name
        return True
    section = data.get("kindling")
    return isinstance(section, dict) and section.get("pairs_run") is not None


def _command(ctx: typer.Context, kind: str, config: Path, sets: list[str], live: bool,
             launcher: Launcher, accelerate_config: Path | None, num_processes: int | None,
             overwrite: bool) -> None:
    """What every `kindling train <kind>` does: launch elsewhere if asked, else train here."""
    from agents.config import parse_sets

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
    live: bool = typer.Option(True, help="Show a live line per logging step (loss, lr, step)."),
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
    live: bool = typer.Option(True, help="Show a live line per logging step (loss, pair accuracy, lr)."),
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
    live: bool = typer.Option(True, help="Show a live line per logging step (reward, kl, length, loss)."),
    launcher: Launcher = LAUNCHER_OPTION,
    accelerate_config: Path | None = ACCELERATE_CONFIG_OPTION,
    num_processes: int | None = NUM_PROCESSES_OPTION,
    overwrite: bool = OVERWRITE_OPTION,
) -> None:
    """GRPO on an imported dataset's prompts with named, weighted rewards (TRL's GRPOTrainer)."""
    _command(ctx, "grpo", config, sets, live, launcher, accelerate_config, num_processes,
             overwrite)
