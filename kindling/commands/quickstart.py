"""`kindling quickstart`: the whole training story on two CPU cores, end to end.

import → tiny model → SFT → reward model (+ its evaluation) → GRPO with `rm` alone and with
`rm` + `length_control` → the four policies side by side. Each step is the same code path as its
own command (`kindling data import`, `model init --tiny`, `train sft|rm|grpo`, `eval rm|policy`),
reading the configs in `configs/` with the quickstart's sizes on top; every run lands in the store.
A step whose output folder already holds a finished model is skipped, so running the command again
after an interruption continues where it stopped (`--fresh` redoes everything).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.rule import Rule
from rich.table import Table

from kindling.context import console, fail
from kindling.outputs import WHOLE_FOLDER, check_claimable, owned_entries, remove_owned_dir

if TYPE_CHECKING:
    from kindling.services.evaluation import PolicyComparison
    from kindling.services.paper_data import PaperData
    from kindling.store.db import Store

GRPO_VARIANTS = {"grpo_rm": ("rm",), "grpo_rm_lc": ("rm", "length_control")}
"""GRPO runs by output name and reward names; the weights come from grpo_tiny.yaml (default 1)."""

POLICY_LABELS = {"tiny": "base", "sft": "sft", "grpo_rm": "grpo-rm", "grpo_rm_lc": "grpo-rm+length",
                 "grpo_judge": "grpo-judge"}
"""How each step's model is named in the report (GRPO: its run's default name)."""

JUDGE_BATCH = 8
"""Completions per step of the judge arm by default (2 prompts × 4): each is one call to the
offline judge (`--judge-batch`)."""


def default_configs() -> Path:
    """`./configs` if present (a folder `kindling init` made), else the configs shipped with Kindling."""
    from kindling.configs import shipped_configs

    here = Path("configs")
    return here if here.is_dir() else shipped_configs()


def finished(folder: Path) -> bool:
    """Whether a step saved its final model (or LoRA adapter) in a folder Kindling made;
    checkpoints alone, in checkpoint-N subfolders, do not count."""
    saved = (folder / "config.json").is_file() or (folder / "adapter_config.json").is_file()
    return saved and WHOLE_FOLDER in owned_entries(folder)


def quickstart(
    ctx: typer.Context,
    data: Path = typer.Option(None, "--from", file_okay=False, help="Folder of the paper's dataset/ layout (imported unless the store holds it). Without it: $KINDLING_PAPER_DATA, else the upstream download (cached)."),
    workdir: Path = typer.Option(Path("quickstart"), "--workdir", help="Where models and run outputs go."),
    configs: Path = typer.Option(None, "--configs", help="Folder with sft_tiny.yaml, rm_tiny.yaml, grpo_tiny.yaml (default: ./configs or the repository's)."),
    sft_steps: int = typer.Option(300, "--sft-steps", min=1, help="SFT optimizer steps (batch 16)."),
    rm_pairs: int = typer.Option(None, "--rm-pairs", min=1, help="Reward-model training pairs (default: all 6,310 rm_train pairs, one epoch)."),
    grpo_steps: int = typer.Option(60, "--grpo-steps", min=1, help="GRPO steps per variant (4 prompts × 4 completions each)."),
    judge_steps: int = typer.Option(2, "--judge-steps", min=0, help="GRPO steps with the LLM judge as the reward (the paper's winning arm; --judge-batch completions a step, each judged by the offline SmolLM2-135M; 0 skips it)."),
    judge_batch: int = typer.Option(JUDGE_BATCH, "--judge-batch", min=1, help="Completions per step of the judge arm, a multiple of grpo_judge_tiny.yaml's trl.num_generations (4 per prompt): each is one call to the judge."),
    eval_prompts: int = typer.Option(64, "--eval-prompts", min=1, help="Held-out grpo_test prompts each policy is sampled on."),
    eval_limit: int = typer.Option(None, "--eval-limit", min=1, help="Reward-model evaluation and the comparison's RM excellence threshold: at most this many pairs and labelled items (default: all)."),
    vocab_size: int = typer.Option(4000, "--vocab-size", min=300, help="Tiny model's tokenizer vocabulary."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the step folders an earlier quickstart made in the workdir and redo every step (nothing else in the workdir is touched)."),
    live: bool = typer.Option(True, "--progress/--no-progress", help="Live training lines (off: TRL's own progress bars)."),
) -> None:
    """Import → tiny model → SFT → RM → GRPO (rm, rm + length_control) → policies compared."""
    configs = configs or default_configs()
    needed = ("sft_tiny.yaml", "rm_tiny.yaml", "grpo_tiny.yaml", "grpo_judge_tiny.yaml")
    missing = [n for n in needed if not (configs / n).is_file()]
    if missing:
        fail(f"--configs {configs}: missing {', '.join(missing)} (run from the repository root or "
             "pass --configs)")
    if judge_steps:  # GRPO's batch holds whole groups: refused here, before any step ran
        group = _num_generations(configs / "grpo_judge_tiny.yaml")
        if judge_batch % group:
            fail(f"--judge-batch {judge_batch}: must be a multiple of {group} (trl.num_generations "
                 f"in {configs / 'grpo_judge_tiny.yaml'}: completions per prompt)")
    paths = {"tiny": workdir / "models" / "tiny", "sft": workdir / "runs" / "sft",
             "rm": workdir / "models" / "rm",
             **{name: workdir / "runs" / name for name in GRPO_VARIANTS},
             **({"grpo_judge": workdir / "runs" / "grpo_judge"} if judge_steps else {})}
    for path in paths.values():  # a folder Kindling did not make stops us before any work
        check_claimable(path, overwrite=True, flag="--workdir")
    paper = _find_paper_data(ctx, data)  # before the store or the workdir is made
    if fresh:
        for path in paths.values():
            if remove_owned_dir(path):
                console.print(f"removed {path} (--fresh)")
    from kindling.store.queries import require_import_run

    store = ctx.obj.open_store()
    steps = Steps()
    if paper.folder is None:
        steps.skip("import the paper data", "nothing to import: the store holds it")
    else:
        steps.run("import the paper data", partial(_import, store, paper.folder))
    steps.run("tiny model", lambda: _tiny(store, paths["tiny"], vocab_size), paths["tiny"])
    steps.run("SFT", lambda: _train(store, "sft", configs, {
        "kindling.model": paths["tiny"], "trl.output_dir": paths["sft"],
        "trl.max_steps": sft_steps}, live), paths["sft"])
    steps.run("reward model", lambda: _train(store, "rm", configs, {
        "kindling.model": paths["sft"], "kindling.pairs_run": require_import_run(store),
        "kindling.limit": rm_pairs, "trl.output_dir": paths["rm"]}, live), paths["rm"])
    rm_figures = steps.run("evaluate the reward model", lambda: _eval_rm(
        store, paths["rm"], eval_limit))
    weights = _reward_weights(configs / "grpo_tiny.yaml")
    for name, rewards in GRPO_VARIANTS.items():
        steps.run(f"GRPO with {' + '.join(rewards)}", partial(_train, store, "grpo", configs, {
            "kindling.model": paths["sft"], "kindling.rm_model": paths["rm"],
            "kindling.rewards": {r: weights.get(r, 1.0) for r in rewards},
            "trl.output_dir": paths[name],
            "trl.max_steps": grpo_steps}, live), paths[name])
    if judge_steps:
        steps.run("GRPO with the LLM judge", lambda: _train(store, "grpo", configs, {
            "kindling.model": paths["sft"], "trl.output_dir": paths["grpo_judge"],
            "trl.max_steps": judge_steps, "trl.per_device_train_batch_size": judge_batch,
            "trl.save_strategy": "no"}, live, "grpo_judge_tiny.yaml"), paths["grpo_judge"])
    comparison = steps.run("compare the policies",
                           lambda: _compare(store, paths, eval_prompts, eval_limit))
    steps.print_times()
    from kindling.quickstart_report import print_report

    print_report(store, {POLICY_LABELS[k]: str(v) for k, v in paths.items() if k.startswith("grpo")},
                 rm_figures, comparison, eval_prompts)


class Steps:
    """Runs numbered steps with a header each, skips finished ones, keeps their wall times."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float | None]] = []

    def run(self, title: str, action: Callable[[], Any], output: Path | None = None) -> Any:
        console.print(Rule(f"step {len(self.times) + 1}: {title}"))
        if output is not None and finished(output):
            console.print(f"already done: {output} (--fresh redoes it)")
            self.times.append((title, None))
            return None
        started = time.perf_counter()
        result = action()
        self.times.append((title, time.perf_counter() - started))
        return result

    def skip(self, title: str, why: str) -> None:
        """A step with nothing to do: its header, why, and "skipped" in the times."""
        console.print(Rule(f"step {len(self.times) + 1}: {title}"))
        console.print(why, highlight=False)
        self.times.append((title, None))

    def print_times(self) -> None:
        table = Table(title="quickstart steps", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("step")
        table.add_column("wall time", justify="right")
        for title, seconds in self.times:
            table.add_row(title, "skipped" if seconds is None else f"{seconds:.0f} s")
        total = sum(s for _, s in self.times if s is not None)
        table.add_row("total", f"{total:.0f} s ({total / 60:.1f} min)", end_section=True)
        console.print(table)


def _reward_weights(path: Path) -> dict[str, float]:
    """kindling.rewards of the GRPO config (name → weight); empty if it names none."""
    from kindling.agents.config import read_yaml_mapping

    rewards = (read_yaml_mapping(path).get("kindling") or {}).get("rewards") or {}
    return {str(k): float(v) for k, v in rewards.items()}


def _num_generations(path: Path) -> int:
    """trl.num_generations of the judge arm's GRPO config (TRL's default 8 if it names none).

    Raises:
        ConfigError: the file cannot be read, or the value is not a whole number.
    """
    from kindling.agents.config import ConfigError, read_yaml_mapping

    value = (read_yaml_mapping(path).get("trl") or {}).get("num_generations") or 8
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: field trl.num_generations: {value!r} is not a whole "
                          "number") from exc


def _find_paper_data(ctx: typer.Context, explicit: Path | None) -> PaperData:
    """The store, --from, $KINDLING_PAPER_DATA or the upstream download (cached), said on a line."""
    from kindling.services.paper_data import find_paper_data

    return find_paper_data(lambda: ctx.obj.open_store(writes=False), explicit)


def _import(store: Store, data: Path) -> None:
    from kindling.ingest.imports import import_paper_data
    from kindling.store.version import code_version
    from kindling.views import print_import_report

    print_import_report(import_paper_data(store, data, code_version=code_version()))


def _tiny(store: Store, out: Path, vocab_size: int) -> None:
    from kindling.rl.policy_loading import describe_model
    from kindling.services.training import build_tiny_model, corpus_texts

    build_tiny_model(corpus_texts(store), out, vocab_size=vocab_size)
    console.print(f"tiny Qwen2 model: {describe_model(out)['parameters']:,} parameters → {out}")


def _train(store: Store, kind: str, configs: Path, overrides: dict[str, Any], live: bool,
           config: str | None = None) -> int:
    from kindling.services.training import train_from_config

    run_id, output_dir = train_from_config(
        store, kind, configs / (config or f"{kind}_tiny.yaml"),
        {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}, live=live,
        overwrite=True)  # the quickstart's own step folder (a foreign one was refused up front)
    console.print(f"{kind} run {run_id} finished → {output_dir}")
    return run_id


def _eval_rm(store: Store, model: Path, limit: int | None) -> dict[str, Any]:
    from kindling.services.evaluation import evaluate_and_store_rm
    from kindling.store.queries import require_import_run
    from kindling.views import print_eval_stored, print_rm_report

    metrics, eval_run = evaluate_and_store_rm(store, str(model), pairs_run=require_import_run(store),
                                              limit=limit)
    print_rm_report(str(model), metrics)
    print_eval_stored(eval_run)
    return metrics


def _compare(store: Store, paths: dict[str, Path], prompts: int,
             labels_limit: int | None) -> PolicyComparison:
    from kindling.rl.evaluate.policy import SamplingConfig, held_out_prompts
    from kindling.services.evaluation import compare_policies
    from kindling.views import print_eval_stored

    comparison = compare_policies(
        store, [(label, str(paths[step])) for step, label in POLICY_LABELS.items() if step in paths],
        held_out_prompts(store, "grpo_test", prompts),
        SamplingConfig(samples_per_prompt=2, max_new_tokens=64), prompts_dataset="grpo_test",
        rm=str(paths["rm"]), labels_limit=labels_limit)
    print_eval_stored(comparison.eval_run_id)
    return comparison
