"""`kindling experiment step NAME` (hidden): one step of `experiment paper`, in a fresh process.

The experiment starts it; it reads the earlier steps' results from the workdir's experiment.json,
runs the step and writes what it produced to --result-file (JSON) for the experiment to record.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kindling.context import fail


def step(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The step (path_a, rm_eval, path_b, agreement, compare)."),
    config: Path = typer.Option(..., "--config", "-c", exists=True, dir_okay=False, help="The experiment YAML."),
    sets: list[str] = typer.Option([], "--set", help="The experiment's overrides, as it was given them."),
    result_file: Path = typer.Option(..., "--result-file", help="Where the step's result (JSON) goes."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars."),
) -> None:
    """Run one step of an experiment in this process (the experiment starts this itself)."""
    from kindling.agents.config import parse_sets
    from kindling.outputs import write_text
    from kindling.services.experiment import Experiment, load_experiment
    from kindling.services.experiment_steps import STEP_FUNCTIONS

    if name not in STEP_FUNCTIONS:
        fail(f"no experiment step {name!r} (steps: {', '.join(STEP_FUNCTIONS)})")
    if result_file.exists():  # the experiment removes its own before it starts a step
        fail(f"--result-file {result_file}: exists; a step writes only a new file")
    overrides = parse_sets(sets)
    cfg, plan = load_experiment(config, overrides)
    experiment = Experiment(ctx.obj.open_store(), cfg, plan, config_file=config,
                            overrides=overrides, live=progress, progress=progress)
    steps = plan.steps()
    if name not in steps:
        fail(f"experiment step {name!r}: {config} leaves it out")
    earlier = steps[:steps.index(name)]  # a step being redone never sees its own old result
    experiment.results = {k: v for k, v in experiment.recorded_results().items() if k in earlier}
    experiment.attempt_runs = experiment.recorded_attempts()
    result = STEP_FUNCTIONS[name](experiment)
    write_text(result_file, json.dumps(result, ensure_ascii=False))
