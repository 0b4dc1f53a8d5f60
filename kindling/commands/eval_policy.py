"""`kindling eval policy`: sample several policies on held-out prompts and compare them in one table."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import IO, Any

import typer
from rich import box
from rich.table import Table

from agents.judge.config import JudgeConfig
from agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.context import console, fail
from kindling.outputs import check_output_file, write_file
from rl.evaluate.policy import SamplingConfig
from store import work
from store.db import Store
from store.reports import policy_output_dir
from store.version import code_version

EXAMPLES_STORED = 5


def resolve_policies(store: Store, specs: list[str]) -> list[tuple[str, str]]:
    """`LABEL=PATH`, `PATH` or `run:ID` (an sft/grpo run's output folder) → (label, path) pairs.

    Raises:
        ValueError: an empty spec, a repeated label, or a run that is missing, of another kind
            or without an output folder.
    """
    policies: list[tuple[str, str]] = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep:
            label, path = "", spec
        if not path:
            raise ValueError(f"--model {spec!r}: expected PATH, LABEL=PATH or run:ID")
        if path.startswith("run:"):
            path = policy_output_dir(store, path, what="--model")
            label = label or spec
        label = label or Path(path).name or path
        if label in dict(policies):
            raise ValueError(f"--model {spec!r}: label {label!r} is used twice (give LABEL=PATH)")
        policies.append((label, path))
    return policies


def policy(
    ctx: typer.Context,
    models: list[str] = typer.Option(..., "--model", help="A policy: PATH, LABEL=PATH or run:ID (an sft/grpo run's output). Repeat to compare, e.g. --model base=models/tiny --model sft=runs/sft_tiny."),
    prompts_dataset: str = typer.Option("grpo_test", "--prompts", help="Imported dataset whose distinct queries are the held-out prompts."),
    limit: int = typer.Option(64, min=1, help="Prompts to sample (file order)."),
    samples: int = typer.Option(1, "--samples", min=1, help="Completions per prompt."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", min=1),
    temperature: float = typer.Option(0.7, min=0.0, help="Sampling temperature (0: greedy)."),
    top_p: float = typer.Option(0.95, "--top-p", min=0.0, max=1.0),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Prompts per generate / scoring batch."),
    seed: int = typer.Option(0, help="Sampling seed (every policy gets the same one)."),
    rm: str = typer.Option(None, "--rm", help="Reward model folder (`kindling train rm` output): excellence = score above a threshold."),
    rm_threshold: float = typer.Option(None, "--rm-threshold", help="The RM's excellence threshold (default: fitted on the labelled dataset)."),
    labels: str = typer.Option("evaluation_set", "--labels", help="Labelled dataset the RM threshold is fitted on."),
    principles: str = typer.Option(None, "--principles", help="Judge the samples with this detector principle version (id, name or YAML path)."),
    judge_config: Path = typer.Option(None, "--judge-config", help="YAML with JudgeConfig fields (the judge's model, samples, ...); enables the judge."),
    sets: list[str] = typer.Option([], "--set", help="Any JudgeConfig field as dotted key=value, e.g. --set llm.backend=openai."),
    length_threshold: int = typer.Option(DEFAULT_THRESHOLD, "--length-threshold", help="The length rule beside every excellence rate: longer than N characters."),
    out: Path = typer.Option(None, "--out", help="Also write every sample (policy, prompt, text, scores) to this JSONL file."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --out file if it exists."),
) -> None:
    """Sample each policy on held-out prompts; report excellence under a reward model and/or a
    judge beside the length rule, mean length, distinct-1/2 and self-BLEU, side by side (stored as
    an `eval` run)."""
    from kindling.commands.policy_scoring import load_judge_config
    from rl.evaluate.policy import held_out_prompts
    from rl.models import describe_model

    if out is not None:
        check_output_file(out, overwrite=overwrite)
    store: Store = ctx.obj.open_store()
    sampling = SamplingConfig(samples, max_new_tokens, temperature, top_p, batch_size, seed)
    try:
        judge_cfg = load_judge_config(store, principles, judge_config, sets)
        policies = resolve_policies(store, models)
        prompts = held_out_prompts(store, prompts_dataset, limit)
        for _label, path in policies:
            describe_model(path)  # missing folder, tokenizer or mismatch: an error before sampling
    except ValueError as exc:
        fail(str(exc))
        return
    compare_policies(store, policies, prompts, sampling, prompts_dataset=prompts_dataset, rm=rm,
                     rm_threshold=rm_threshold, labels=labels, judge_cfg=judge_cfg,
                     length_threshold=length_threshold, out=out)


def compare_policies(
    store: Store, policies: list[tuple[str, str]], prompts: list[str], sampling: SamplingConfig,
    *, prompts_dataset: str, rm: str | None = None, rm_threshold: float | None = None,
    labels: str = "evaluation_set", judge_cfg: JudgeConfig | None = None,
    length_threshold: int = DEFAULT_THRESHOLD, out: Path | None = None,
) -> tuple[dict[str, dict[str, Any]], int]:
    """Sample, score and measure each policy, print the table, store an `eval` run.

    Returns:
        (figures per policy label, the eval run's id).
    """
    from kindling.commands.policy_scoring import judge_samples, score_with_rm
    from rl.evaluate.policy import policy_metrics

    generated = {label: _sample(path, prompts, sampling) for label, path in policies}
    flat = {label: [(p, s) for p, group in zip(prompts, groups, strict=True) for s in group]
            for label, groups in generated.items()}
    rm_scores, rm_fit = (score_with_rm(store, rm, flat, labels, rm_threshold, sampling.batch_size)
                         if rm else ({}, None))
    verdicts, judge_run = judge_samples(store, judge_cfg, flat) if judge_cfg else ({}, None)
    threshold = rm_fit["threshold"] if rm_fit else None
    report = {label: policy_metrics([s for _, s in items], rm_scores=rm_scores.get(label),
                                    rm_threshold=threshold, judge_verdicts=verdicts.get(label),
                                    length_threshold=length_threshold)
              for label, items in flat.items()}
    print_policy_table(report, length_threshold, rm_fit, judge_run)
    if out is not None:
        _write_samples(out, flat, rm_scores, verdicts)
    config = {"source": "policy", "policies": dict(policies), "prompts": prompts_dataset,
              "limit": len(prompts), "sampling": sampling.__dict__, "rm": rm, "rm_fit": rm_fit,
              "judge_run": judge_run, "length_threshold": length_threshold}
    metrics = {"policies": report, "examples": {label: items[:EXAMPLES_STORED]
                                                for label, items in flat.items()}}
    eval_run, _ = work.get_or_create_run(store, kind="eval", run_key=None, config=config,
                                         code_version=code_version())
    work.finish_run(store, eval_run.id, "finished", metrics)
    console.print(f"eval run {eval_run.id} stored")
    return report, eval_run.id


def _sample(path: str, prompts: list[str], sampling: SamplingConfig) -> list[list[str]]:
    from rl.evaluate.policy import sample_policy
    from rl.models import load_policy

    with console.status(f"sampling {path} on {len(prompts)} prompts"):
        model, tokenizer = load_policy(path)
        result = sample_policy(model, tokenizer, prompts, sampling)
    del model
    gc.collect()
    return result


def _write_samples(out: Path, flat: dict[str, list[tuple[str, str]]],
                   rm_scores: dict[str, list[float]], verdicts: dict[str, list[int | None]]) -> None:
    def write(f: IO[str]) -> None:
        for label, items in flat.items():
            for i, (prompt, text) in enumerate(items):
                row: dict[str, Any] = {"policy": label, "prompt": prompt, "completion": text}
                if label in rm_scores:
                    row["rm_score"] = rm_scores[label][i]
                if label in verdicts:
                    row["judge_verdict"] = verdicts[label][i]
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    write_file(out, write)
    console.print(f"samples → {out}")


def print_policy_table(report: dict[str, dict[str, Any]], length_threshold: int,
                       rm_fit: dict[str, Any] | None, judge_run: int | None) -> None:
    """One column per policy, one row per figure: excellence rates beside the length rule."""
    table = Table(title="policies on held-out prompts", box=box.SIMPLE_HEAD, collapse_padding=True,
                  pad_edge=False, caption=f"len>{length_threshold}: share longer than "
                  f"{length_threshold} characters (the length-only rule the labels track)")
    table.add_column("figure", no_wrap=True)
    for label in report:
        table.add_column(label, justify="right", no_wrap=True)
    rows: list[tuple[str, Any]] = [
        ("samples", lambda m: str(m["samples"])),
        ("mean length", lambda m: f"{m['mean_length']:.1f}"),
        ("median length", lambda m: f"{m['median_length']:.0f}"),
        (f"len>{length_threshold}", lambda m: f"{m['length_rule']:.3f}"),
    ]
    if rm_fit:
        rows += [("RM excellence", lambda m: f"{m['rm']['excellence']['rate']:.3f}"),
                 ("RM mean score", lambda m: f"{m['rm']['mean']:.3f}")]
    if judge_run is not None:
        rows += [("judge excellence", lambda m: f"{m['judge']['excellence']['rate']:.3f}"),
                 ("judge failed", lambda m: str(m["judge"]["excellence"]["failed"]))]
    rows += [("distinct-1", lambda m: f"{m['distinct_1']:.3f}"),
             ("distinct-2", lambda m: f"{m['distinct_2']:.3f}"),
             ("self-BLEU", lambda m: "–" if m["self_bleu"] is None else f"{m['self_bleu']:.1f}")]
    for name, cell in rows:
        table.add_row(name, *(cell(m) for m in report.values()))
    console.print(table)
    if rm_fit:
        console.print(f"RM excellence: score > {rm_fit['threshold']:.4f}, the threshold most "
                      f"accurate on {rm_fit['fitted_on']} ({rm_fit['accuracy']:.3f} on "
                      f"{rm_fit['items']} labelled responses)" if "items" in rm_fit else
                      f"RM excellence: score > {rm_fit['threshold']:.4f} (given)", highlight=False)
    if judge_run is not None:
        console.print(f"judge run {judge_run}", highlight=False)
