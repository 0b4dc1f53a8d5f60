"""`kindling experiment paper`: the paper's comparison, every step stored, resumable."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.rule import Rule

from kindling.context import console, fail
from kindling.options import TASK_OPTION
from kindling.store.errors import UserError

app = typer.Typer(help="Whole studies in one command: `experiment paper` runs the paper's comparison; `experiment plan` shows what it will take first.",
                  no_args_is_help=True)

STEP_TITLES = {
    "import": "import the paper data", "base": "base policy", "sft": "SFT",
    "path_a": "Path A: the SFT policy's candidates judged by the agents",
    "pairs": "preference pairs from Path A's verdicts", "rm": "reward model on those pairs",
    "rm_eval": "the reward model on held-out pairs", "grpo_rm": "GRPO with the reward model", "path_b": "Path B: adversarial principle refinement",
    "grpo_judge": "GRPO with the refined judge",
    "agreement": "each evaluator against labels it never saw",
    "compare": "compare the policies",
}


@app.command("paper")
def paper(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", "-c", exists=True, dir_okay=False, help="Experiment YAML (configs/experiment_tiny.yaml: two CPU cores, local agents; configs/experiment_paper.yaml: the paper's scale)."),
    sets: list[str] = typer.Option([], "--set", help="Override a field, dotted: --set path_a.queries=4 --set 'grpo_rm.set={trl.max_steps: 4}' (value parsed as YAML)."),
    fresh: bool = typer.Option(False, "--fresh", help="Forget the finished steps recorded in the workdir and run every step again: models are rebuilt and retrained in the folders Kindling made there (nothing else is touched); Path A and B find their stored runs of the same config, as their own commands do."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Live training lines and Path A's progress bar."),
    task: str = TASK_OPTION,
) -> None:
    """SFT → Path A → pairs → RM → GRPO-RM; Path B → best S_D → GRPO-judge; then the table.

    --task (the experiment file's task:) is every step's task; for a task other than
    greetings-zh, import its data first and name its datasets in the steps."""
    from contextlib import nullcontext

    from kindling.services.experiment_launch import all_isolated
    from kindling.services.gpus import gpus_hidden

    with gpus_hidden() if all_isolated(config, sets, task) else nullcontext():
        # this process holds no CUDA context: the steps' processes do (unless isolate: false)
        _run_paper(ctx, config, sets, fresh, progress, task)


def _run_paper(ctx: typer.Context, config: Path, sets: list[str], fresh: bool,
               progress: bool, task: str | None) -> None:
    from kindling.agents.config import parse_sets
    from kindling.services.experiment import Experiment
    from kindling.services.plan_study import load_for_plan

    overrides = {**parse_sets(sets), **({"task": task} if task is not None else {})}
    cfg, plan, _ = load_for_plan(config, overrides)
    study = check_plan(cfg, plan, config, overrides, None)
    store = ctx.obj.open_store()
    experiment = Experiment(store, cfg, plan, config_file=config, overrides=overrides,
                            live=progress, progress=progress,
                            on_step=partial(_print_step, step_titles(plan)),
                            echo=_echo_child)
    if fresh:
        experiment.forget_steps()
    results = experiment.run()
    from kindling.experiment_report import print_report

    print_report(results, {step: label for label, step in plan.policies()})
    if study is not None:
        print_planned_and_spent(store, cfg, study, results)


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", "-c", exists=True, dir_okay=False, help="Experiment YAML, as `experiment paper` takes it."),
    sets: list[str] = typer.Option([], "--set", help="Override a field, dotted, as for `experiment paper`: --set launch.processes=1 --set devices.count=1."),
    task: str = TASK_OPTION,
    prices: Path | None = typer.Option(None, "--prices", exists=True, dir_okay=False, help="A prices.yaml merged over the shipped table and ./configs/prices.yaml."),
) -> None:
    """The study's plan: commands, GPU memory per device, LLM calls and money, before anything starts.

    Per step: its command, processes and devices; each training step's memory per device against
    the GPUs; each agent step's LLM calls, tokens and money per role; wall time where an endpoint
    was measured; then the totals and the API keys it needs. Nothing is downloaded, created or
    trained. A plan that cannot fit its devices exits with status 2, naming the step and what
    would fit."""
    from kindling.agents.config import parse_sets
    from kindling.plan_views import print_plan
    from kindling.services.plan_study import build_study, load_for_plan

    overrides = {**parse_sets(sets), **({"task": task} if task is not None else {})}
    cfg, plan, cpu = load_for_plan(config, overrides)
    study = build_study(cfg, plan, config_file=config, overrides=overrides,
                        store=_existing_store(ctx), prices=prices, cpu=cpu)
    print_plan(study)
    if study.refused:
        fail(f"the plan does not fit: {', '.join(s.name for s in study.refused)} (see above); nothing was started")


def _existing_store(ctx: typer.Context) -> Any | None:
    """The store when it exists (dataset sizes, measured latencies); never created here."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return ctx.obj.open_store(writes=False)
    except (UserError, SQLAlchemyError, OSError):  # no store yet: the plan goes on without it
        return None


def check_plan(cfg: Any, plan: Any, config: Path, overrides: dict[str, Any],
               store: Any | None) -> Any | None:
    """`experiment paper`'s start: the plan's short summary; a plan that cannot fit stops here,
    before anything is downloaded or created. None when the plan cannot be drawn (a price
    file or template that cannot be read: said, and the run goes on)."""
    from kindling.agents.config import ConfigError
    from kindling.plan_views import print_refusal, print_summary
    from kindling.services.plan_study import build_study
    from kindling.store.errors import UserError

    try:
        study = build_study(cfg, plan, config_file=config, overrides=overrides, store=store)
    except (ConfigError, UserError) as exc:
        console.print(f"[yellow]plan: not drawn ({exc})[/]", highlight=False)
        return None
    print_summary(study)
    if study.refused:
        print_refusal(study)
        fail("the plan does not fit its devices; nothing was started")
    return study


def print_planned_and_spent(store: Any, cfg: Any, study: Any, results: dict[str, Any]) -> None:
    """The plan's money beside what each LLM step's runs spent (priced as the study's budget
    is: its own models and local ones free)."""
    from kindling.plan_views import print_spent
    from kindling.services.experiment_budget import study_prices
    from kindling.services.plan_costs import spent, step_run_ids

    if not any(step.money for step in study.steps):  # no agent step: nothing to price
        return
    runs = step_run_ids(results)
    try:
        table = study_prices(store, cfg, results, [r for ids in runs.values() for r in ids])
    except UserError as exc:
        console.print(f"[yellow]money spent: not priced ({exc})[/]", highlight=False)
        return
    print_spent(study, {step: spent(store, ids, table) for step, ids in runs.items()})


def step_titles(plan: Any) -> dict[str, str]:
    """Each step's title; without Path A the RM trains on the imported pairs, without Path B
    the judge keeps its config's principles, and each extra arm is GRPO with the RM."""
    titles = {**STEP_TITLES, **{step: f"GRPO with the reward model ({label})"
                                for step, label in ((s, a.label)
                                                    for s, a in plan.cfg.grpo_arms.items())}}
    if plan.cfg.path_a is None:
        titles["rm"] = "reward model on the imported pairs"
    if "path_b" not in plan.steps():
        titles["grpo_judge"] = "GRPO with the LLM judge"
    return titles


def _print_step(titles: dict[str, str], name: str, status: str) -> None:
    if status == "running":
        console.print(Rule(f"{name}: {titles[name]}"))
    elif status == "done before":
        console.print(f"[dim]{name}: done before (same settings), skipped[/]")
    elif status.startswith(("process: ", "log: ")):
        console.print(status, style="dim", highlight=False, markup=False, soft_wrap=True)


def _echo_child(line: str) -> None:
    """A step process's output line, as it came (its log keeps it too)."""
    console.print(line, highlight=False, markup=False, soft_wrap=True)
