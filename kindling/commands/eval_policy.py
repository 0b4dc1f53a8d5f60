"""`kindling eval policy`: sample several policies on held-out prompts and compare them in one table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import typer

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.context import console
from kindling.options import TASK_OPTION
from kindling.outputs import check_output_file, write_file

if TYPE_CHECKING:
    from kindling.services.evaluation import PolicyComparison
    from kindling.store.db import Store


def resolve_policies(store: Store, specs: list[str]) -> list[tuple[str, str]]:
    """`LABEL=PATH`, `PATH` or `run:ID` (an sft/grpo run's output folder) → (label, path) pairs.

    Raises:
        FlagError: an empty spec or a repeated label.
        RunRefError: a run that is missing, of another kind or without an output folder.
    """
    from kindling.store.errors import FlagError
    from kindling.store.reports import policy_output_dir

    policies: list[tuple[str, str]] = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep:
            label, path = "", spec
        if not path:
            raise FlagError(f"--model {spec!r}: expected PATH, LABEL=PATH or run:ID")
        if path.startswith("run:"):
            path = policy_output_dir(store, path, what="--model")
            label = label or spec
        label = label or Path(path).name or path
        if label in dict(policies):
            raise FlagError(f"--model {spec!r}: label {label!r} is used twice (give LABEL=PATH)")
        policies.append((label, path))
    return policies


def policy(
    ctx: typer.Context,
    models: list[str] = typer.Option(..., "--model", help="A policy: PATH, LABEL=PATH or run:ID (an sft/grpo run's output). Repeat to compare, e.g. --model base=models/tiny --model sft=runs/sft_tiny."),
    prompts_dataset: str = typer.Option("grpo_test", "--prompts", help="Imported dataset whose distinct queries are the held-out prompts."),
    limit: int = typer.Option(64, min=1, help="Prompts to sample (file order)."),
    samples: int = typer.Option(1, "--samples", min=1, help="Completions per prompt."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", min=1, help="Most new tokens per sample."),
    temperature: float = typer.Option(0.7, min=0.0, help="Sampling temperature (0: greedy)."),
    top_p: float = typer.Option(0.95, "--top-p", min=0.0, max=1.0, help="Nucleus sampling mass."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Prompts per generate / scoring batch."),
    seed: int = typer.Option(0, help="Sampling seed (every policy gets the same one)."),
    rm: str = typer.Option(None, "--rm", help="Reward model folder (`kindling train rm` output): excellence = score above a threshold."),
    rm_threshold: float = typer.Option(None, "--rm-threshold", help="The RM's excellence threshold (default: fitted on the labelled dataset)."),
    labels: str = typer.Option("evaluation_set", "--labels", help="Labelled dataset the RM threshold is fitted on."),
    principles: str = typer.Option(None, "--principles", help="Judge the samples with this detector principle version (id, name or YAML path)."),
    judge_config: Path = typer.Option(None, "--judge-config", "--config", "-c", help="YAML with JudgeConfig fields (the judge's model, samples, ...); enables the judge."),
    sets: list[str] = typer.Option([], "--set", help="Any JudgeConfig field as dotted key=value, e.g. --set llm.backend=openai."),
    length_threshold: int = typer.Option(None, "--length-threshold", help=f"The length rule beside every excellence rate: longer than N, in the task's length unit (default {DEFAULT_THRESHOLD} for greetings-zh, else fitted on the --labels dataset)."),
    out: Path = typer.Option(None, "--out", help="Also write every sample (policy, prompt, text, scores) to this JSONL file."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --out file if it exists."),
    task: str = TASK_OPTION,
) -> None:
    """Sample each policy on held-out prompts; report excellence under a reward model and/or a
    judge beside the length rule, mean length, distinct-1/2 and self-BLEU, side by side (stored as
    an `eval` run). Lengths, distinct-n and self-BLEU follow the task: --task, else the judge
    config's task:, else greetings-zh."""
    if out is not None:
        check_output_file(out, overwrite=overwrite)
    store = ctx.obj.open_store()  # before the training libraries load: a wrong store fails fast

    from kindling.agents.task import resolve_task
    from kindling.rl.evaluate.policy import SamplingConfig, held_out_prompts
    from kindling.rl.policy_loading import describe_model
    from kindling.services.evaluation import compare_policies, resolve_judge_flags
    from kindling.services.task_measures import length_rule
    from kindling.views import print_eval_stored, print_length_rule, print_policy_table

    sampling = SamplingConfig(samples, max_new_tokens, temperature, top_p, batch_size, seed)
    judge = resolve_judge_flags(store, principles, judge_config, sets, task)
    measured = resolve_task(task) if judge is None else judge.task
    rule = length_rule(store, measured, length_threshold, labels)
    policies = resolve_policies(store, models)
    prompts = held_out_prompts(store, prompts_dataset, limit)
    for _label, path in policies:
        describe_model(path)  # missing folder, tokenizer or mismatch: an error before sampling
    comparison = compare_policies(
        store, policies, prompts, sampling, prompts_dataset=prompts_dataset, rm=rm,
        rm_threshold=rm_threshold, labels=labels, judge=judge, length_rule=rule,
        task=measured)
    print_policy_table(comparison.report, rule["threshold"], comparison.rm_fit,
                       comparison.judge_run_id, measured.length_unit)
    print_length_rule(measured.name, rule)
    if out is not None:
        _write_samples(out, comparison)
    print_eval_stored(comparison.eval_run_id)


def _write_samples(out: Path, comparison: PolicyComparison) -> None:
    rm_scores, verdicts = comparison.rm_scores, comparison.verdicts

    def write(f: IO[str]) -> None:
        for label, items in comparison.samples.items():
            for i, (prompt, text) in enumerate(items):
                row: dict[str, Any] = {"policy": label, "prompt": prompt, "completion": text}
                if label in rm_scores:
                    row["rm_score"] = rm_scores[label][i]
                if label in verdicts:
                    row["judge_verdict"] = verdicts[label][i]
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    write_file(out, write)
    console.print(f"samples → {out}")
