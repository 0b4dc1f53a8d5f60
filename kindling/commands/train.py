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


@app.command("rm")
def rm(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", help=CONFIG_HELP),
    sets: list[str] = typer.Option([], "--set", help=SET_HELP),
    live: bool = typer.Option(True, help="Show a live line per logging step (loss, lr, step)."),
) -> None:
    """Reward model on preference pairs (TRL's RewardTrainer); the run goes to the store.

    Without kindling.pairs_run (YAML or --set), the pairs are the latest import run's (the
    paper's RM pairs; pick them with kindling.pairs_dataset, e.g. rm_train).
    """
    from kindling.commands.curate import parse_sets
    from rl.reward_model import latest_import_run, prepare_rm, train_rm
    from rl.train_config import KindlingRM, load_train_config

    try:
        overrides = parse_sets(sets)
        store = ctx.obj.open_store()
        if "kindling.pairs_run" not in overrides and not _yaml_sets_pairs_run(config):
            latest = latest_import_run(store)
            if latest is None:
                raise ValueError("no import run in the store and no kindling.pairs_run given: "
                                 "import first (`kindling data import`)")
            overrides["kindling.pairs_run"] = latest
            console.print(f"pairs from the latest import run, {latest}")
        kcfg, trl_cfg = load_train_config("rm", config, overrides)
        assert isinstance(kcfg, KindlingRM)
        setup = prepare_rm(store, kcfg, trl_cfg)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))
        return
    run_id = train_rm(store, setup, live=live)
    console.print(f"rm run {run_id} finished; model in {trl_cfg.output_dir}")


def _yaml_sets_pairs_run(config: Path) -> bool:
    """Whether the YAML file gives kindling.pairs_run (unreadable files are reported later)."""
    import yaml

    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - load_train_config reports it with the file's name
        return True
    section = data.get("kindling") if isinstance(data, dict) else None
    return isinstance(section, dict) and section.get("pairs_run") is not None


@app.command("grpo")
def grpo(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", help=CONFIG_HELP),
    sets: list[str] = typer.Option([], "--set", help=SET_HELP),
    live: bool = typer.Option(True, help="Show a live line per logging step (reward, kl, length, loss)."),
) -> None:
    """GRPO on an imported dataset's prompts with named, weighted rewards (TRL's GRPOTrainer)."""
    from kindling.commands.curate import parse_sets
    from rl.grpo import prepare_grpo, train_grpo
    from rl.train_config import KindlingGRPO, load_train_config

    try:
        kcfg, trl_cfg = load_train_config("grpo", config, parse_sets(sets))
        assert isinstance(kcfg, KindlingGRPO)
        store = ctx.obj.open_store()
        setup = prepare_grpo(store, kcfg, trl_cfg)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))
        return
    run_id = train_grpo(store, setup, live=live)
    console.print(f"grpo run {run_id} finished; policy in {trl_cfg.output_dir}")
