"""Each experiment step in a process of its own, so every step starts with all GPU memory free.

Training steps run as the `kindling train <kind>` command a user would type (its config, the
links to earlier steps and the step's `set` as `--set`), under `accelerate launch` when the step's
launch settings ask for more than one process or name an accelerate config. Path A, Path B, the
RM's evaluation, the agreement and the comparison run as `kindling experiment step <name>` in a
fresh interpreter, which reads the earlier steps' results from the workdir's experiment.json.
Importing the data, building a tiny base and forming pairs load no model and run in the
experiment's own process; so does every step under `launch: {isolate: false}` (small CPU runs).

Each child's output goes to `<workdir>/logs/<step>.log` (and to the terminal, when progress is
shown); the store is handed over in KINDLING_DB_URL, never on a command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kindling.services.experiment_config import Launch
from kindling.services.experiment_plan import Plan, link_overrides
from kindling.services.gpus import gpu_env
from kindling.store.errors import UserError

MODEL_STEPS = ("path_a", "rm_eval", "path_b", "agreement", "compare")
"""Steps besides training that load a model or an agent (a process of their own, isolated)."""
LOG_FOLDER = "logs"
LOG_TAIL_LINES = 30
PLACEHOLDERS = {"pairs": "<pairs run from step pairs>", "import": "<import run from step import>",
                "principles": "<S_D version from step path_b>"}


class StepFailed(UserError):
    """A step's process ended with a non-zero status (its log named; its last lines in the
    message when its output was not shown as it ran)."""


@dataclass(frozen=True)
class StepProcess:
    """What runs a step: its argv, how many processes and the log it writes."""

    argv: list[str]
    processes: int
    log: Path

    def shown(self) -> str:
        """The command as a user would type it (`python -m kindling` as `kindling`)."""
        args = self.argv[1:] if self.argv and self.argv[0] == sys.executable else self.argv
        if args[:2] == ["-m", "accelerate.commands.launch"]:
            args = ["accelerate", "launch", *args[2:]]
        text = " ".join(_quote(a) for a in args)
        return text.replace("-m kindling ", "kindling ", 1) if not text.startswith("accelerate") \
            else text


def step_launch(plan: Plan, name: str) -> Launch:
    """A training step's own `launch:`, else the experiment's."""
    own = getattr(plan.step(name), "launch", None) if name in plan.train_kinds() else None
    return own if own is not None else plan.cfg.launch


def in_child(plan: Plan, name: str) -> bool:
    """Whether step `name` runs in a process of its own: a training step or one that loads a
    model, unless its launch settings say `isolate: false`."""
    return (name in plan.train_kinds() or name in MODEL_STEPS) and step_launch(plan, name).isolate


def accelerate_config_path(plan: Plan, launch: Launch) -> Path | None:
    """The accelerate config, relative to the experiment file's folder as a step's `config:`
    (a shipped experiment file finds the shipped accelerate configs beside it)."""
    if launch.accelerate_config is None:
        return None
    path = Path(launch.accelerate_config).expanduser()
    return path if path.is_absolute() else plan.base_dir / path


def all_isolated(config: Path, sets: list[str], task: str | None) -> bool:
    """Whether every step of the experiment file that loads a model runs in a process of its
    own (then the experiment's process hides the GPUs from itself); an invalid file: True (the
    plan names its mistake next)."""
    from kindling.agents.config import ConfigError, load_config, parse_sets
    from kindling.services.experiment_config import ExperimentConfig

    try:
        cfg = load_config(ExperimentConfig, config, {**parse_sets(sets),
                                                     **({"task": task} if task else {})})
    except ConfigError:
        return True
    plan = Plan(cfg, config.parent)
    return all(in_child(plan, name) for name in plan.steps()
               if name in plan.train_kinds() or name in MODEL_STEPS)


def train_links(plan: Plan, name: str, results: dict[str, Any] | None) -> dict[str, Any]:
    """The overrides a training step gets from the steps before it (placeholders in a plan
    drawn before they ran)."""
    results = results or {}
    if plan.cfg.path_a is not None:
        pairs = (results.get("pairs") or {}).get("run", PLACEHOLDERS["pairs"])
    else:
        pairs = (results.get("import") or {}).get("import_run", PLACEHOLDERS["import"])
    principles = str((results.get("path_b") or {}).get("sd_id", PLACEHOLDERS["principles"]))
    links = link_overrides(plan, Path(plan.cfg.workdir), pairs_run=pairs, principles=principles)[name]
    if plan.cfg.base.model != "tiny" and name == "sft":
        links["kindling.model"] = (results.get("base") or {}).get("model", plan.cfg.base.model)
    return plan.train_overrides(name, links)


def step_process(plan: Plan, name: str, *, results: dict[str, Any] | None, config: Path,
                 sets: list[str], progress: bool, result_file: Path,
                 train_sets: dict[str, Any] | None = None) -> StepProcess:
    """The process that runs step `name` (one `in_child`); a training step's `train_sets`
    go on top of its links and `set:` (its judge's share of the study's budget)."""
    log = Path(plan.cfg.workdir) / LOG_FOLDER / f"{name}.log"
    show = "--progress" if progress else "--no-progress"
    kinds = plan.train_kinds()
    if name not in kinds:
        argv = [sys.executable, "-m", "kindling", "experiment", "step", name, "--config",
                str(config), *_repeat("--set", sets), "--result-file", str(result_file), show]
        return StepProcess(argv, 1, log)
    launch = step_launch(plan, name)
    config_file = plan.config_path(plan.step(name))
    train = ["train", kinds[name], "--config", str(config_file),
             *_repeat("--set", set_args({**train_links(plan, name, results),
                                         **(train_sets or {})})),
             show, "--launcher", "none", "--overwrite"]
    if not launch.accelerated:
        return StepProcess([sys.executable, "-m", "kindling", *train], 1, log)
    accelerate = [sys.executable, "-m", "accelerate.commands.launch"]
    cfg_path = accelerate_config_path(plan, launch)
    if cfg_path is not None:
        accelerate += ["--config_file", str(cfg_path)]
    accelerate += ["--num_processes", str(launch.processes), "-m", "kindling", *train]
    return StepProcess(accelerate, launch.processes, log)


def run_process(step: StepProcess, *, db_url: str, echo: Callable[[str], None] | None) -> None:
    """Run `step`, its output into its log (and to `echo`); interrupted, the child is stopped
    first so it can mark its run.

    Raises:
        StepFailed: a non-zero exit, naming the log (with its last lines when `echo` is None).
    """
    from kindling.signals import CHILD_GRACE_S, stop_child, terminated

    step.log.parent.mkdir(parents=True, exist_ok=True)
    env = gpu_env({**os.environ, "KINDLING_DB_URL": db_url, "PYTHONUNBUFFERED": "1"})
    with step.log.open("w", encoding="utf-8") as log:
        child = subprocess.Popen(step.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 env=env, text=True, encoding="utf-8", errors="replace")
        try:
            assert child.stdout is not None
            for line in child.stdout:
                log.write(line)
                log.flush()
                if echo is not None:
                    echo(line.rstrip("\n"))
            code = child.wait()
        except KeyboardInterrupt:
            stop_child(child, forward=terminated(), grace_s=CHILD_GRACE_S)  # type: ignore[arg-type]
            log.write(child.stdout.read() if child.stdout is not None else "")  # its last words
            raise
    if code != 0:
        shown = ("its output is above" if echo is not None else
                 f"its last lines:\n{log_tail(step.log)}\n")
        raise StepFailed(f"the step's process ended with status {code} (log: {step.log}); "
                         f"{shown}; rerun the same command to resume from this step")


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log (what a failure shows)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


def read_result(path: Path) -> dict[str, Any]:
    """A child step's result, as it wrote it.

    Raises:
        StepFailed: missing or not a JSON object (the child ended without one).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StepFailed(f"{path}: the step's process wrote no result ({exc})") from exc
    if not isinstance(data, dict):
        raise StepFailed(f"{path}: the step's result is not a JSON object")
    return data


def _repeat(flag: str, values: list[str]) -> list[str]:
    return [part for value in values for part in (flag, value)]


def set_value(value: Any) -> str:
    """A --set value: YAML flow text that parses back to `value` (floats keep their dot:
    1.0e-05, never JSON's 1e-05, which YAML reads as a string)."""
    if isinstance(value, str):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=10**9)
    return text.strip()[1:-1]  # the one item of a flow list: [item]


def set_args(overrides: dict[str, Any]) -> list[str]:
    """`key=value` for each override, as --set takes them."""
    return [f"{key}={set_value(value)}" for key, value in overrides.items()]


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
