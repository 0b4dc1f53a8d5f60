"""The runs list's figures per kind of run, and the names of evaluation runs."""

from __future__ import annotations

from typing import Any

import pytest
from kindling.store.eval_names import eval_run_name
from kindling.store.models import Run

from kindling.studio.run_figures import COLUMNS, NONE, eval_headline, run_figures

NO_ITEMS = {"items": 0, "done": 0, "failed": 0, "pairs": 0}


def _run(kind: str, metrics: dict[str, Any] | None = None,
         config: dict[str, Any] | None = None) -> Run:
    return Run(kind=kind, metrics=metrics or {}, config=config or {}, status="finished")


def test_grpo_reward_length_drift_and_alerts() -> None:
    steps = [{"step": 1, "reward": 0.1, "watch/length_chars": 40.0, "watch/length_drift": 0.0,
              "completions/mean_length": 30.0},
             {"step": 2, "reward": 0.7, "watch/length_chars": 95.4, "watch/length_drift": 1.38},
             {"step": 2, "train_loss": 0.02, "train_runtime": 9.5}]  # TRL's summary: not a step
    run = _run("grpo", {"steps": steps, "watch_alerts": [{"step": 2, "rule": "r"}],
                        "watch": {"rules": []}})
    assert run_figures(run, NO_ITEMS, None) == {
        "steps": "2", "last reward": "0.7", "length": "95 characters", "length drift": "+138%",
        "alerts": "1 (first at step 2)"}


def test_grpo_length_in_the_tasks_unit() -> None:
    steps = [{"step": 1, "reward": 0.5, "watch/length_chars": 12.0}]
    run = _run("grpo", {"steps": steps}, {"task_used": {"length_unit": "words"}})
    assert run_figures(run, NO_ITEMS, None)["length"] == "12 words"


def test_grpo_without_watch_gives_tokens_and_dashes_never_zero() -> None:
    run = _run("grpo", {"steps": [{"step": 1, "loss": 0.1, "completions/mean_length": 61.6}]})
    figures = run_figures(run, NO_ITEMS, None)
    assert figures == {"steps": "1", "last reward": NONE, "length": "62 tokens",
                       "length drift": NONE, "alerts": NONE}
    assert list(figures) == list(COLUMNS["grpo"])


@pytest.mark.parametrize(("kind", "metrics", "expected"), [
    ("sft", {"steps": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]},
     {"steps": "2", "last loss": "1.5"}),
    ("sft", {"steps": [], "final": {"train_loss": 0.75}}, {"steps": NONE, "last loss": "0.75"}),
    ("rm", {"steps": [{"step": 1, "loss": 0.6, "accuracy": 0.8}]},
     {"steps": "1", "last loss": "0.6", "accuracy": "0.8"}),
])
def test_training_runs_show_steps_and_loss(kind: str, metrics: dict[str, Any],
                                           expected: dict[str, str]) -> None:
    assert run_figures(_run(kind, metrics), NO_ITEMS, None) == expected


def test_curate_items_pairs_and_agreement_with_labels() -> None:
    counts = {"items": 10, "done": 8, "failed": 2, "pairs": 3}
    assert run_figures(_run("curate"), counts, (6, 8)) == {
        "items": "8 done, 2 failed of 10", "pairs": "3", "agreement with labels": "6 of 8 (75%)"}
    unlabelled = run_figures(_run("curate"), {**counts, "failed": 0}, None)
    assert unlabelled["agreement with labels"] == "no labelled items"
    assert unlabelled["items"] == "8 done of 10"


def test_judge_adversarial_import_and_other_kinds() -> None:
    judge = _run("judge", {"items": 5, "judged": 4, "good": 3, "bad": 1, "failed": 1,
                           "flagged": 1})
    assert run_figures(judge, NO_ITEMS, None) == {
        "judged": "5", "verdicts": "3 good, 1 not good",
        "failed": "1 (+1 flagged by the guard)"}
    history = [{"iteration": 0, "f1": 0.5}, {"iteration": 1, "f1": 0.7},
               {"iteration": 2, "f1": 0.6}]
    adversarial = _run("adversarial", {"history": history, "stop": "max_iterations"})
    assert run_figures(adversarial, NO_ITEMS, None) == {
        "iterations": "2", "validation F1": "0.50 → best 0.70", "stopped": "max_iterations"}
    imported = _run("import", {"added": {"sft": 12, "eval": 0}, "tables": {"queries": 4}})
    assert run_figures(imported, NO_ITEMS, None) == {"records added": "sft 12",
                                                     "new rows": "queries 4"}
    assert run_figures(_run("pairs", {"pairs": 7, "judged": 9, "note": "x"}), NO_ITEMS,
                       None) == {"pairs": "7", "judged": "9"}


def test_eval_headline_per_source() -> None:
    judge = {"overall": {"accuracy": 0.812}, "baseline": {"accuracy": 0.9}}
    assert eval_headline({"source": "judge"}, judge) == "judge accuracy 0.81 (length-only 0.90)"
    rm = {"pairwise": {"overall": {"rm": 0.66666, "length": 0.95}}}
    assert eval_headline({"source": "rm"}, rm) == (
        "pairwise accuracy 0.67 (longer-is-chosen 0.95)")
    policies = {"sft": {"judge": {"excellence": {"rate": 0.25}}, "length_rule": 0.1},
                "grpo": {"judge": {"excellence": {"rate": 0.5}}, "length_rule": 0.9}}
    assert eval_headline({"source": "policy"}, {"policies": policies}) == (
        "judge excellence: sft 0.25, grpo 0.50")
    unjudged = {k: {"length_rule": v["length_rule"]} for k, v in policies.items()}
    assert eval_headline({"source": "policy", "length_threshold": 39},
                         {"policies": unjudged}) == "share longer than 39: sft 0.10, grpo 0.90"
    assert eval_headline({"source": "what"}, {}) is None
    assert run_figures(_run("eval", {}, {"source": "judge"}), NO_ITEMS, None) == {
        "headline figure": NONE}


def test_a_long_eval_name_is_cut_to_what_the_store_holds() -> None:
    config = {"source": "policy", "endpoints": {f"endpoint-{i:03d}": {} for i in range(40)}}
    name = eval_run_name(config)
    assert len(name) == 200 and name.startswith("eval policy: endpoint-000") and name[-1] == "…"


@pytest.mark.parametrize(("config", "metrics", "name"), [
    ({"source": "policy", "policies": {"base": "/m/base", "sft": "/m/sft"},
      "endpoints": {"grpo-rm": {}}}, None, "eval policy: base, sft, grpo-rm"),
    ({"source": "policy"}, {"policies": {"sft": {}, "grpo": {}}}, "eval policy: sft, grpo"),
    ({"source": "policy"}, None, "eval policy"),
    ({"source": "rm", "model": "/work/out/rm-tiny"}, None, "eval rm: rm-tiny"),
    ({"source": "rm"}, None, "eval rm"),
    ({"source": "curate", "ids": [12]}, None, "eval curate: run 12"),
    ({"source": "judge"}, None, "eval judge"),
    ({}, None, "eval"), (None, None, "eval"),
])
def test_eval_run_names(config: dict[str, Any] | None, metrics: dict[str, Any] | None,
                        name: str) -> None:
    assert eval_run_name(config, metrics) == name
