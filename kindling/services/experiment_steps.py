"""The experiment's steps, each the code path of its own command, each returning what later
steps and the report need (JSON-ready: it is kept in the workdir's experiment.json).

A step reads earlier steps' results from `exp.results` (in a step's own process: as
experiment.json recorded them). Training steps are `kindling train` processes
(experiment_launch.py); `train_result` reads back the run each stored. A step that is redone
finds its own output folder (Kindling's, checked up front) and trains into it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kindling.agents.task import DEFAULT_TASK
from kindling.outputs import remove_owned_dir
from kindling.services.experiment_budget import step_budget, with_budget
from kindling.services.experiment_config import ExperimentConfig
from kindling.services.experiment_plan import Plan
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.version import code_version

if TYPE_CHECKING:
    from kindling.services.paper_data import PaperData

SHOWN_PROMPTS = 3
"""Prompts whose samples the comparison's result keeps for a report."""


class Experiment(Protocol):
    """What a step reads: `kindling.services.experiment.Experiment`."""

    store: Store
    cfg: ExperimentConfig
    plan: Plan
    workdir: Path
    results: dict[str, Any]
    attempt_runs: list[int]
    live: bool
    progress: bool
    paper: PaperData | None


def import_data(exp: Experiment) -> dict[str, Any]:
    """The paper's data (idempotent: nothing new, no new run) from `data:`, or when that is null,
    found as the quickstart finds it: the store, $KINDLING_PAPER_DATA, the download cache. For a
    task other than greetings-zh with `data: null`, nothing: its data was imported beforehand
    (`kindling data import --file`)."""
    from kindling.ingest.imports import import_paper_data
    from kindling.services.paper_data import find_paper_data
    from kindling.store.errors import DataImportError
    from kindling.store.queries import latest_import_run, require_import_run

    given = Path(exp.cfg.data) if exp.cfg.data is not None else None
    latest = latest_import_run if exp.cfg.path_a is not None else require_import_run  # the
    # RM trains on imported pairs without Path A
    if given is None and exp.plan.task().name != DEFAULT_TASK:  # your task: data imported first
        return {"import_run": latest(exp.store), "added": 0}
    if given is not None:
        folder: Path | None = given
    else:
        folder = (exp.paper or find_paper_data(lambda: exp.store, None)).folder
    if folder is None:  # already in the store
        return {"import_run": latest(exp.store), "added": 0}
    try:
        report = import_paper_data(exp.store, folder, code_version=code_version())
    except DataImportError as exc:
        raise UserError(str(exc)) from exc
    return {"import_run": report.run_id or latest_import_run(exp.store),
            "added": sum(report.added.values())}


def build_base(exp: Experiment) -> dict[str, Any]:
    """A tiny Qwen2 built from config on the imported texts, or the named model as it is."""
    if exp.cfg.base.model != "tiny":
        return {"model": exp.cfg.base.model}
    from kindling.rl.policy_loading import describe_model
    from kindling.services.training import build_tiny_model, corpus_texts

    out = exp.plan.folder("base", exp.workdir)
    remove_owned_dir(out)  # redone: settings changed (a foreign folder was refused up front)
    build_tiny_model(corpus_texts(exp.store), out, vocab_size=exp.cfg.base.vocab_size)
    return {"model": str(out), "parameters": describe_model(out)["parameters"]}


def train_here(exp: Experiment, name: str) -> dict[str, Any]:
    """Training step `name` in this process, as its `kindling train` process would run it."""
    from kindling.services.experiment_budget import budget_sets
    from kindling.services.experiment_launch import train_links
    from kindling.services.training import train_from_config

    sets = train_links(exp.plan, name, exp.results)
    if name == "grpo_judge":  # its judge's share of the study's budget
        sets |= budget_sets(step_budget(exp, name), "kindling.judge.budget")
    train_from_config(exp.store, exp.plan.train_kinds()[name],
                      exp.plan.config_path(exp.plan.step(name)), sets, live=exp.live,
                      overwrite=True)  # the step's own folder (a foreign one was refused first)
    return train_result(exp, name)


def train_result(exp: Experiment, name: str) -> dict[str, Any]:
    """What training step `name`'s process made: the newest run of its kind trained into the
    step's folder (the experiment owns that folder, so no other run writes there).

    Raises:
        UserError: no such run (the process ended without storing one).
    """
    from kindling.store.queries import newest_run_into

    kind = exp.plan.train_kinds()[name]
    folder = str(exp.plan.folder(name, exp.workdir))
    run_id = newest_run_into(exp.store, kind, folder)
    if run_id is None:
        raise UserError(f"step {name}: its process stored no {kind} run training into {folder}")
    result: dict[str, Any] = {"run": run_id, "model": folder}
    if kind == "grpo":
        result["flat_steps"], result["steps"] = _flat_steps(exp.store, run_id)
    return result


def _flat_steps(store: Store, run_id: int) -> tuple[int, int]:
    """(logged steps whose rewards were all equal, logged steps): an all-flat run learned
    nothing (GRPO's advantages are zero when every completion of a group scores the same)."""
    from kindling.store.reports import get_run

    run = get_run(store, run_id)
    steps = [s for s in ((run.metrics or {}).get("steps") or []) if "reward_std" in s] \
        if run is not None else []
    return sum(1 for s in steps if float(s["reward_std"]) == 0.0), len(steps)


def curate_candidates(exp: Experiment) -> dict[str, Any]:
    """Path A: the SFT policy's candidates, each judged by advocate, critic, judge, reflector."""
    from kindling.services.curate import CurateRunner

    cfg = with_budget(exp.plan.curate_config(exp.results["sft"]["model"]),
                      step_budget(exp, "path_a"))
    outcome = asyncio.run(CurateRunner(exp.store, cfg, show_progress=exp.progress).run())
    return {"run": outcome.run_id, "counts": outcome.counts}


def make_pairs(exp: Experiment) -> dict[str, Any]:
    """Judged-good × judged-bad candidates of a query, `pairs_per_query` of them.

    Raises:
        UserError: fewer pairs than `path_a.min_pairs` (the RM would learn nothing).
    """
    from kindling.services.pairs import build_pairs

    step = exp.plan.step("path_a")
    per_query = None if step.pairs_per_query == "all" else step.pairs_per_query
    built = build_pairs(exp.store, exp.results["path_a"]["run"], per_query)
    if built.pairs < step.min_pairs:
        raise UserError(
            f"Path A gave {built.pairs} pairs from {built.judged} judged candidates (fewer than "
            f"path_a.min_pairs {step.min_pairs}): a query yields a pair only when the agents "
            "judge one candidate good and another bad; raise path_a.queries or "
            "samples_per_query, or set pairs_per_query: all")
    return {"run": built.run_id, "pairs": built.pairs, "judged": built.judged}


def refine_principles(exp: Experiment) -> dict[str, Any]:
    """Path B; its best validated S_D (the starting one when no revision did better)."""
    from kindling.services.adversarial import AdversarialRunner
    from kindling.store.principles import activation_doubts, get_version

    cfg = with_budget(exp.plan.adversarial_config(), step_budget(exp, "path_b"))
    outcome = asyncio.run(AdversarialRunner(exp.store, cfg).run())
    start = outcome.history[0]["sd_id"] if outcome.history else None
    chosen = outcome.best_sd_id or start
    if chosen is None:
        raise UserError(f"adversarial run {outcome.run_id} validated no S_D version")
    version = get_version(exp.store, chosen)
    return {"run": outcome.run_id, "sd_id": chosen, "start_sd_id": start,
            "f1": (version.metrics or {}).get("f1"),
            "doubts": activation_doubts(exp.store, version), "stop": outcome.stop}


def measure_agreement(exp: Experiment) -> dict[str, Any]:
    """Judge and RM against labels neither was tuned or trained on, beside the length rule."""
    from kindling.services.experiment_agreement import (
        clean_items,
        judge_agreement,
        length_rule_on,
        pair_texts,
        rm_agreement,
    )

    items, fit = clean_items(exp.store, exp.plan.adversarial_config(),
                             exp.cfg.compare.labelled_items)
    rule = length_rule_on(exp.plan.task(), fit)
    judge_cfg = with_budget(exp.plan.judge_config(str(exp.results["path_b"]["sd_id"])),
                            step_budget(exp, "agreement"))
    trained_on = (exp.results["pairs"]["run"] if "pairs" in exp.results  # else the imported
                  else exp.results["import"]["import_run"])  # pairs (all: "seen" errs wide)
    seen = pair_texts(exp.store, [trained_on])
    return {"judge": judge_agreement(exp.store, judge_cfg, items, rule),
            "rm": rm_agreement(exp.results["rm"]["model"], items, fit, seen, rule),
            "length_rule": rule}


def evaluate_rm(exp: Experiment) -> dict[str, Any]:
    """The reward model on held-out imported pairs and labelled items (`kindling eval rm`)."""
    from kindling.services.evaluation import evaluate_and_store_rm
    from kindling.store.queries import require_import_run

    step = exp.plan.step("rm_eval")
    metrics, eval_run = evaluate_and_store_rm(
        exp.store, exp.results["rm"]["model"], pairs_run=require_import_run(exp.store),
        pairs_dataset=step.pairs_dataset, limit=step.limit, task=exp.plan.task())
    return {"metrics": metrics, "eval_run": eval_run}


def compare(exp: Experiment) -> dict[str, Any]:
    """Every policy and endpoint model sampled on the same held-out prompts, scored by the RM
    and (with Path B) the judge, whose thresholds the agreement step fitted."""
    from kindling.agents.judge.service import resolve_judge
    from kindling.rl.evaluate.policy import SamplingConfig, held_out_prompts
    from kindling.services.evaluation import compare_policies

    c, r = exp.cfg.compare, exp.results
    task = exp.plan.task()
    agreement = r.get("agreement") if "agreement" in exp.plan.steps() else None
    judge = None if agreement is None else resolve_judge(exp.store, with_budget(
        exp.plan.judge_config(str(r["path_b"]["sd_id"])), step_budget(exp, "compare")))
    comparison = compare_policies(
        exp.store, [(label, r[step]["model"]) for label, step in exp.plan.policies()],
        held_out_prompts(exp.store, c.dataset, c.prompts),
        SamplingConfig(samples_per_prompt=c.samples_per_prompt, max_new_tokens=c.max_new_tokens,
                       temperature=c.temperature),
        prompts_dataset=c.dataset, rm=r["rm"]["model"],
        rm_threshold=agreement["rm"]["threshold"] if agreement else None, judge=judge,
        endpoints={e.label: e.llm for e in c.endpoints}, task=task,
        labels_limit=None if agreement else c.labels_limit,
        length_threshold=((agreement.get("length_rule") or {}).get("threshold")
                          if agreement else None))
    examples = {label: [text for _, text in items[:c.examples]]
                for label, items in comparison.samples.items()}
    shown, scores = first_samples(comparison.samples, comparison.rm_scores)
    return {"policies": comparison.report, "eval_run": comparison.eval_run_id,
            "rm_fit": comparison.rm_fit, "judge_run": comparison.judge_run_id,
            "examples": examples, "samples": shown, "rm_scores": scores,
            "length_rule": comparison.length_rule,
            "length_threshold": comparison.length_rule.get("threshold"),
            "length_unit": task.length_unit}


def first_samples(samples: dict[str, list[tuple[str, str]]], rm_scores: dict[str, list[float]],
                  prompts: int = SHOWN_PROMPTS) -> tuple[dict[str, list[Any]], dict[str, list[float]]]:
    """Each policy's first sample (and its RM score) on the first `prompts` prompts: what a
    report shows, small enough to keep in experiment.json."""
    order = list(dict.fromkeys(p for items in samples.values() for p, _ in items))[:prompts]
    shown: dict[str, list[Any]] = {}
    scores: dict[str, list[float]] = {}
    for label, items in samples.items():
        picked = [next((i for i, (p, _) in enumerate(items) if p == prompt), None)
                  for prompt in order]
        kept = [i for i in picked if i is not None]
        shown[label] = [list(items[i]) for i in kept]
        if rm_scores.get(label):
            scores[label] = [rm_scores[label][i] for i in kept]
    return shown, scores


STEP_FUNCTIONS: dict[str, Callable[[Experiment], dict[str, Any]]] = {
    "import": import_data, "base": build_base, "path_a": curate_candidates, "pairs": make_pairs,
    "rm_eval": evaluate_rm,
    "path_b": refine_principles, "agreement": measure_agreement, "compare": compare,
}
