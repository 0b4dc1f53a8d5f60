"""`kindling adversarial`: Path B's Generator-vs-Detector loop with reflection (resumable)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kindling.config_flags import AGENT_RUN_FLAGS, config_flags, config_overrides, flag
from kindling.context import console, fail
from kindling.options import RUN_NAME_OPTION

ADVERSARIAL_FLAGS = ("iterations", "batch_size", flag("call_budget", "--budget"), "patience",
                     *AGENT_RUN_FLAGS)
"""AdversarialConfig's fields `kindling adversarial` takes as flags (any other: --set)."""


@config_flags("kindling.agents.adversarial.config:AdversarialConfig", ADVERSARIAL_FLAGS)
def adversarial(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="YAML file with AdversarialConfig fields (see configs/adversarial_local.yaml)."),
    sets: list[str] = typer.Option([], "--set", help="Any config field as dotted key=value, e.g. --set validation_size=60."),
    new_run: bool = typer.Option(False, "--new-run", help="Start a new run even if one with this config exists (default: resume it)."),
    activate_best: bool = typer.Option(False, "--activate-best", help="Activate the best-validated S_D for the judge at the end."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the live progress bar (the per-iteration lines are printed either way)."),
    name: str = RUN_NAME_OPTION,
) -> None:
    """Optimize the Detector's principles S_D against a Generator following strategies S_G."""
    from kindling.agents.adversarial.config import AdversarialConfig
    from kindling.agents.config import load_config, parse_sets
    from kindling.services.adversarial import AdversarialRunner
    from kindling.services.principles import activate_if_sound

    cfg = load_config(AdversarialConfig, config, {**config_overrides(ctx), **parse_sets(sets)})
    store = ctx.obj.open_store()
    with Progress(TextColumn("[bold]adversarial"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("iterations"), TimeElapsedColumn(), console=console,
                  disable=not progress) as bar:
        task = bar.add_task("iterations", total=cfg.iterations)

        def on_iteration(record: dict[str, Any]) -> None:
            bar.console.print(_iteration_line(record))
            bar.update(task, completed=record["iteration"])

        runner = AdversarialRunner(store, cfg, new_run=new_run, on_iteration=on_iteration,
                                   name=name)
        outcome = asyncio.run(runner.run())
    console.print(metrics_table(outcome.run_id, outcome.history))
    console.print(f"stopped: {outcome.stop}; best S_D version: {outcome.best_sd_id}")
    if outcome.history and not any(r["n"] for r in outcome.history):
        fail(f"adversarial run {outcome.run_id}: every validation judgment failed, so no S_D "
             "version was measured (see `kindling runs show` for the agent calls' errors)",
             code=1)
    if activate_best and outcome.best_sd_id is not None:
        chosen = activate_if_sound(store, outcome.best_sd_id)
        if not chosen.activated:
            console.print(f"[yellow]not activated:[/] {'; '.join(chosen.doubts)} (`kindling "
                          f"principles activate {outcome.best_sd_id}` activates it anyway)",
                          highlight=False)
        else:
            console.print(f"activated principle version {outcome.best_sd_id} for the judge")


def _iteration_line(record: dict[str, Any]) -> str:
    base, it = record["length_baseline"], record["iteration"]
    refused = len(record.get("refused_rules") or [])
    return ((f"iteration {it}: " if it else "start: ") + f"S_D v{record['sd_id']} "
            f"F1 {record['f1']:.3f} acc {record['accuracy']:.3f} "
            f"(length-only F1 {base['f1']:.3f} acc {base['accuracy']:.3f})"
            + ("" if record.get("accepted", True) else "; lost to the best so far: rolled back")
            + (f"; {refused} degenerate rule(s) refused" if refused else ""))


def metrics_table(run_id: int, history: list[dict[str, Any]]) -> Table:
    """Validation metrics per S_D version, with the length-only baseline beside each."""
    table = Table(title=f"adversarial run {run_id}: validation of each S_D version",
                  box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False,
                  caption="iter 0: the starting S_D; kept: the revision did not lose to the best "
                          "so far (else S_D rolled back); refused: degenerate rules not stored; "
                          "len: the length-only rule on the same items")
    for col in ("iter", "S_D", "n", "acc", "F1", "len acc", "len F1", "failed", "kept",
                "refused"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in history:
        b = r["length_baseline"]
        kept = "start" if r["iteration"] == 0 else ("yes" if r.get("accepted", True) else "no")
        table.add_row(str(r["iteration"]), str(r["sd_id"]), str(r["n"]), f"{r['accuracy']:.3f}",
                      f"{r['f1']:.3f}", f"{b['accuracy']:.3f}", f"{b['f1']:.3f}",
                      str(r["failed"]), kept, str(len(r.get("refused_rules") or [])))
    return table
