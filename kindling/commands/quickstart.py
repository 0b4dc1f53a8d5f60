"""`kindling quickstart`: the whole training story on two CPU cores, end to end.

import → tiny model → SFT → reward model (+ its evaluation) → GRPO with `rm`, with `rm` +
`length_control` and with the LLM judge → the policies side by side. The steps are
configs/quickstart.yaml run by the experiment service (services/quickstart.py), each the code
path of its own command, every run in the store. A finished step is recorded in the workdir's
experiment.json, so running the command again continues where it stopped; a step whose sizes
changed is redone with every step after it (`--fresh` redoes everything).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.rule import Rule
from rich.table import Table

from kindling.context import console

if TYPE_CHECKING:
    from kindling.services.experiment import Experiment

TITLES = {"import": "import the paper data", "base": "tiny model", "sft": "SFT",
          "rm": "reward model", "rm_eval": "evaluate the reward model",
          "grpo_judge": "GRPO with the LLM judge", "compare": "compare the policies"}


def default_configs() -> Path:
    """`./configs` if present (a folder `kindling init` made), else the configs shipped with Kindling."""
    from kindling.configs import shipped_configs

    here = Path("configs")
    return here if here.is_dir() else shipped_configs()


def quickstart(
    ctx: typer.Context,
    data: Path = typer.Option(None, "--from", file_okay=False, help="Folder of the paper's dataset/ layout (imported unless the store holds it). Without it: $KINDLING_PAPER_DATA, else the upstream download (cached)."),
    workdir: Path = typer.Option(Path("quickstart"), "--workdir", help="Where models and run outputs go."),
    configs: Path = typer.Option(None, "--configs", help="Folder with sft_tiny.yaml, rm_tiny.yaml, grpo_tiny.yaml, grpo_judge_tiny.yaml and, optionally, quickstart.yaml (default: ./configs or the shipped ones)."),
    sft_steps: int = typer.Option(None, "--sft-steps", min=1, help="SFT optimizer steps (batch 16; quickstart.yaml: 300)."),
    rm_pairs: int = typer.Option(None, "--rm-pairs", min=1, help="Reward-model training pairs (default: all 6,310 rm_train pairs, one epoch)."),
    grpo_steps: int = typer.Option(None, "--grpo-steps", min=1, help="GRPO steps per RM arm (4 prompts × 4 completions each; quickstart.yaml: 60)."),
    judge_steps: int = typer.Option(None, "--judge-steps", min=0, help="GRPO steps with the LLM judge as the reward (the paper's winning arm; each completion judged by the offline SmolLM2-135M; quickstart.yaml: 2; 0 skips it)."),
    judge_batch: int = typer.Option(None, "--judge-batch", min=1, help="Completions per step of the judge arm, a multiple of grpo_judge_tiny.yaml's trl.num_generations (4 per prompt): each is one call to the judge (quickstart.yaml: 8)."),
    eval_prompts: int = typer.Option(None, "--eval-prompts", min=1, help="Held-out grpo_test prompts each policy is sampled on (quickstart.yaml: 64)."),
    eval_limit: int = typer.Option(None, "--eval-limit", min=1, help="Reward-model evaluation and the comparison's RM excellence threshold: at most this many pairs and labelled items (default: all)."),
    vocab_size: int = typer.Option(None, "--vocab-size", min=300, help="Tiny model's tokenizer vocabulary (quickstart.yaml: 4000)."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the step folders an earlier quickstart made in the workdir and redo every step (nothing else in the workdir is touched)."),
    live: bool = typer.Option(True, "--progress/--no-progress", help="Live training lines (off: TRL's own progress bars)."),
) -> None:
    """Import → tiny model → SFT → RM → GRPO (rm, rm + length_control, judge) → policies compared."""
    from kindling.services.experiment import Experiment
    from kindling.services.paper_data import find_paper_data
    from kindling.services.quickstart import QuickstartSizes, load_quickstart

    sizes = QuickstartSizes(sft_steps, rm_pairs, grpo_steps, judge_steps, judge_batch,
                            eval_prompts, eval_limit, vocab_size)
    quick = load_quickstart(configs or default_configs(), workdir, sizes)
    cfg, plan = quick.cfg, quick.plan
    Experiment.check_folders(plan, workdir)  # a folder Kindling did not make stops us first
    paper = find_paper_data(lambda: ctx.obj.open_store(writes=False), data)  # before the
    # store or the workdir is made
    printer = StepPrinter(plan, workdir)
    experiment = Experiment(ctx.obj.open_store(), cfg, plan, config_file=quick.file,
                            overrides=quick.overrides, live=live, progress=live,
                            on_step=printer.on_step, paper=paper)
    printer.experiment = experiment
    if fresh:
        for path in experiment.forget_steps(remove_folders=True):
            console.print(f"removed {_shown(str(path))} (--fresh)", highlight=False)
    results = experiment.run()
    printer.print_times()
    from kindling.quickstart_report import print_report

    grpo = {label: str(plan.folder(step, Path(cfg.workdir))) for label, step in plan.policies()
            if step.startswith("grpo")}
    print_report(experiment.store, grpo, (results.get("rm_eval") or {}).get("metrics"),
                 results["compare"], cfg.compare.prompts)


class StepPrinter:
    """Numbered step headers, what each step made, and their wall times."""

    def __init__(self, plan: Any, workdir: Path) -> None:
        self.titles = {**TITLES, **{step: f"GRPO with {label.removeprefix('grpo-')}"
                                    for label, step in plan.policies() if step.startswith("grpo")
                                    and step != "grpo_judge"}}
        self.folders = plan.folders(workdir)
        self.kinds = plan.train_kinds()
        self.experiment: Experiment | None = None
        self.times: list[tuple[str, float | None]] = []
        self.started = 0.0

    def on_step(self, name: str, status: str) -> None:
        title = self.titles.get(name, name)
        if status in ("running", "done before"):
            console.print(Rule(f"step {len(self.times) + 1}: {title}"))
        if status == "running":
            self.started = time.perf_counter()
        elif status == "done before":
            self.times.append((title, None))
            folder = self.folders.get(name)
            console.print(f"already done: {folder} (--fresh redoes it)" if folder else
                          "done before with the same settings (--fresh redoes it)",
                          highlight=False)
            if name == "rm_eval":  # its figures, as they were measured
                self._print_made(name)
        elif status == "finished":
            self.times.append((title, time.perf_counter() - self.started))
            self._print_made(name)

    def _print_made(self, name: str) -> None:
        from kindling.views import print_eval_stored, print_rm_report

        assert self.experiment is not None  # set before the experiment runs
        results = self.experiment.results
        result = results[name]
        if name == "import":
            console.print(f"import run {result['import_run']}: {result['added']} new records"
                          if result["added"] else "nothing to import: the store holds it",
                          highlight=False)
        elif name == "base" and "parameters" in result:
            console.print(f"tiny Qwen2 model: {result['parameters']:,} parameters → "
                          f"{_shown(result['model'])}", highlight=False)
        elif name == "base":
            console.print(f"base policy: {result['model']}", highlight=False)
        elif name in self.kinds:
            console.print(f"{self.kinds[name]} run {result['run']} finished → "
                          f"{_shown(result['model'])}", highlight=False)
        elif name == "rm_eval":
            print_rm_report(_shown(results["rm"]["model"]), result["metrics"])
            print_eval_stored(result["eval_run"])
        elif name == "compare":
            print_eval_stored(result["eval_run"])

    def print_times(self) -> None:
        table = Table(title="quickstart steps", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("step")
        table.add_column("wall time", justify="right")
        for title, seconds in self.times:
            table.add_row(title, "skipped" if seconds is None else f"{seconds:.0f} s")
        total = sum(s for _, s in self.times if s is not None)
        table.add_row("total", f"{total:.0f} s ({total / 60:.1f} min)", end_section=True)
        console.print(table)


def _shown(path: str) -> str:
    """A folder as the user named it: relative to the current folder when it is inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path
