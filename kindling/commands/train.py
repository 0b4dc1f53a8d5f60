"""`kindling train ...`: SFT, reward model and GRPO with TRL."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from kindling.context import console, fail
from kindling.launcher import Launcher, TrainArgs, accelerate_command, check_accelerate_config
from kindling.options import FORCE_TASK_OPTION, TASK_OPTION
from kindling.signals import run_child

if TYPE_CHECKING:
    from kindling.store.db import Store

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

# The training arguments TRL users reach for, as flags (each is `--set <key>=<value>` on top of
# the YAML; a --set of the same key wins). Every other field: --set trl.<field>=<value>.
TRAINING = "Training flags (any other field: --set trl.<field>=value)"
FLAG_KEYS = {
    "name": "kindling.name", "model": "kindling.model", "output_dir": "trl.output_dir",
    "learning_rate": "trl.learning_rate", "max_steps": "trl.max_steps",
    "num_train_epochs": "trl.num_train_epochs",
    "per_device_train_batch_size": "trl.per_device_train_batch_size",
    "gradient_accumulation_steps": "trl.gradient_accumulation_steps", "seed": "trl.seed",
    "logging_steps": "trl.logging_steps", "save_steps": "trl.save_steps",
    "report_to": "trl.report_to", "num_generations": "trl.num_generations",
    "max_completion_length": "trl.max_completion_length", "beta": "trl.beta",
    "task": "kindling.task", "force_task": "kindling.judge.force_task",
}


def _flag(name: str, help_text: str, **kwargs: object) -> typer.models.OptionInfo:
    flag = "--" + name.replace("_", "-")
    return typer.Option(None, flag, help=f"{help_text} (sets {FLAG_KEYS[name]})",
                        rich_help_panel=TRAINING, **kwargs)  # type: ignore[arg-type]


NAME_FLAG = _flag("name", "The run's name in `kindling runs` and the studio (default: the kind, "
                  "GRPO with its rewards: grpo-rm+length).")
MODEL_FLAG = _flag("model", "The policy (or RM base) to start from: a folder or a hub id.")
OUTPUT_DIR_FLAG = _flag("output_dir", "Folder the model and checkpoints are written to.")
LEARNING_RATE_FLAG = _flag("learning_rate", "Peak learning rate.", min=0.0)
MAX_STEPS_FLAG = _flag("max_steps", "Stop after this many optimizer steps (-1: by epochs).")
EPOCHS_FLAG = _flag("num_train_epochs", "Epochs over the data (when max_steps is -1).", min=0.0)
BATCH_FLAG = _flag("per_device_train_batch_size", "Examples per device per step.", min=1)
ACCUMULATION_FLAG = _flag("gradient_accumulation_steps", "Steps accumulated per update.", min=1)
SEED_FLAG = _flag("seed", "Seed of the run (data order, init, sampling).")
LOGGING_STEPS_FLAG = _flag("logging_steps", "Log (and store) metrics every N steps.", min=1)
SAVE_STEPS_FLAG = _flag("save_steps", "Save a checkpoint every N steps.", min=1)
REPORT_TO_FLAG = _flag("report_to", "Trackers besides the store: none, tensorboard, trackio, "
                       "wandb, ... (comma-separated).")
GENERATIONS_FLAG = _flag("num_generations", "Completions sampled per prompt (the GRPO group).",
                         min=2)
COMPLETION_FLAG = _flag("max_completion_length", "Most tokens per completion.", min=1)
BETA_FLAG = _flag("beta", "KL coefficient against the reference policy (0: no reference).",
                  min=0.0)


def flag_sets(values: dict[str, object]) -> list[str]:
    """The training flags that were given, as `--set key=value` pairs (in FLAG_KEYS order)."""
    return [f"{key}={_yaml_text(values[name])}" for name, key in FLAG_KEYS.items()
            if values.get(name) is not None]


def _yaml_text(value: object) -> str:
    if isinstance(value, str) and "," in value:  # --report-to a,b → a YAML list
        return "[" + ", ".join(part.strip() for part in value.split(",")) + "]"
    return str(value)


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
        check_accelerate_config(accelerate_config)
    cmd = accelerate_command(train, accelerate_config=accelerate_config, num_processes=num_processes)
    raise typer.Exit(run_child(cmd))  # interrupted, the ranks are stopped first (signals.py)


def _command(ctx: typer.Context, kind: str, config: Path, sets: list[str], live: bool,
             launcher: Launcher, accelerate_config: Path | None, num_processes: int | None,
             overwrite: bool) -> None:
    """What every `kindling train <kind>` does: launch elsewhere if asked, else train here.

    `sets` holds the training flags first, then the user's --set pairs (the later key wins).
    """
    from kindling.agents.config import parse_sets
    from kindling.services.training import train_from_config

    _launch_if_asked(TrainArgs(kind, config, sets, live, ctx.obj.db_url, overwrite), launcher,
                     accelerate_config, num_processes)
    store = ctx.obj.open_store()
    run_id, output_dir = train_from_config(store, kind, config, parse_sets(sets), live=live,
                                           overwrite=overwrite)
    console.print(f"{kind} run {run_id} finished; {'policy' if kind == 'grpo' else 'model'} "
                  f"in {output_dir}")
    _say_if_stopped(store, run_id)


def _say_if_stopped(store: Store, run_id: int) -> None:
    """A run a watch rule ended early says so, with the rule."""
    from kindling.store.reports import get_run

    run = get_run(store, run_id)
    stopped = (run.metrics or {}).get("stopped_by") if run is not None else None
    if isinstance(stopped, dict):
        console.print(f"stopped early at step {stopped.get('step')} by the watch rule "
                      f"{stopped.get('rule')} (kindling.watch.rules; see `kindling runs show "
                      f"{run_id}`)", highlight=False)


COMMON_FLAGS: tuple[tuple[str, type, typer.models.OptionInfo], ...] = (
    ("name", str, NAME_FLAG), ("model", str, MODEL_FLAG), ("output_dir", Path, OUTPUT_DIR_FLAG),
    ("learning_rate", float, LEARNING_RATE_FLAG), ("max_steps", int, MAX_STEPS_FLAG),
    ("num_train_epochs", float, EPOCHS_FLAG), ("per_device_train_batch_size", int, BATCH_FLAG),
    ("gradient_accumulation_steps", int, ACCUMULATION_FLAG), ("seed", int, SEED_FLAG),
    ("logging_steps", int, LOGGING_STEPS_FLAG), ("save_steps", int, SAVE_STEPS_FLAG),
    ("report_to", str, REPORT_TO_FLAG),
)
"""The flags every `kindling train` command takes: (parameter, type, option)."""

GRPO_FLAGS: tuple[tuple[str, type, typer.models.OptionInfo], ...] = (
    ("num_generations", int, GENERATIONS_FLAG), ("max_completion_length", int, COMPLETION_FLAG),
    ("beta", float, BETA_FLAG), ("task", str, TASK_OPTION), ("force_task", bool, FORCE_TASK_OPTION),
)
"""The flags only `kindling train grpo` takes."""


def _train_command(kind: str, doc: str, progress_help: str,
                   flags: tuple[tuple[str, type, typer.models.OptionInfo], ...]) -> None:
    """Register `kindling train <kind>`: --config, --set, the training `flags`, --progress and
    the launcher's options, in that order; it runs `_command`."""
    def command(ctx: typer.Context, **values: Any) -> None:
        _command(ctx, kind, values["config"], flag_sets(values) + values["sets"], values["live"],
                 values["launcher"], values["accelerate_config"], values["num_processes"],
                 values["overwrite"])

    options: list[tuple[str, Any, Any]] = [
        ("config", Path, CONFIG_OPTION), ("sets", list[str], SET_OPTION), *flags,
        ("live", bool, typer.Option(True, "--progress/--no-progress", help=progress_help)),
        ("launcher", Launcher, LAUNCHER_OPTION),
        ("accelerate_config", Path | None, ACCELERATE_CONFIG_OPTION),
        ("num_processes", int | None, NUM_PROCESSES_OPTION), ("overwrite", bool, OVERWRITE_OPTION),
    ]
    keyword = inspect.Parameter.KEYWORD_ONLY
    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
         *(inspect.Parameter(name, keyword, default=option, annotation=annotation)
           for name, annotation, option in options)])
    command.__doc__ = doc
    command.__name__ = kind
    app.command(kind)(command)


_train_command(
    "sft", "Supervised fine-tuning on an imported dataset (TRL's SFTTrainer); the run goes to the "
    "store.", "Show a live line per logging step (loss, lr, step).", COMMON_FLAGS)
_train_command(
    "rm", """Reward model on preference pairs (TRL's RewardTrainer); the run goes to the store.

    Without kindling.pairs_run (YAML or --set), the pairs are the latest import run's (the
    paper's RM pairs; pick them with kindling.pairs_dataset, e.g. rm_train).
    """, "Show a live line per logging step (loss, pair accuracy, lr).", COMMON_FLAGS)
_train_command(
    "grpo", "GRPO on an imported dataset's prompts with named, weighted rewards (TRL's "
    "GRPOTrainer).", "Show a live line per logging step (reward, kl, length, loss).",
    COMMON_FLAGS + GRPO_FLAGS)
