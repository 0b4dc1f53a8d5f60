"""`kindling eval judge` on the real paper data in real SQLite, checked against the raw files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kindling.agents.judge.metrics import binary_metrics, length_baseline
from kindling.ingest.imports import import_paper_data
from kindling.rl.evaluate.metrics import best_length_threshold, length_bands
from kindling.store.db import Store
from kindling.store.eval_data import LabelledItem, labelled_items, split
from kindling.store.models import Judgment, PrincipleVersion, Run, RunItem, Verdict, text_hash
from sqlalchemy import select
from typer.testing import CliRunner

from kindling.cli import app

# Found on the shipped copy (1,606 rows) and recomputed from the raw files below.
LABELLED = 1602          # distinct (query, response) rows: 4 rows repeat
SEEN_IN_RM_TRAIN = 792   # of them, chosen or rejected in a reward_data_train.json pair
BASELINE_CORRECT = 1438  # "longer than 39 characters means good" agrees with 1438/1602 = 0.8976
UNSEEN_POSITIVES = 12    # the RM-train overlap is the positives (784 of 796 are chosen responses)


def raw_evaluation(folder: Path) -> dict[tuple[str, str], int]:
    """Distinct (query, response) -> label, straight from the JSONL file."""
    rows = [json.loads(line) for line in
            (folder / "evaluation_set/evaluate_data.json").read_text("utf-8").splitlines()
            if line.strip()]
    labels: dict[tuple[str, str], int] = {}
    for row in rows:
        labels.setdefault((row["query"], row["response"]), int(row["label"]))
    return labels


def raw_rm_train_texts(folder: Path) -> set[tuple[str, str]]:
    rows = json.loads((folder / "reward_model/reward_data_train.json").read_text("utf-8"))
    return {(r["conversations"][0]["value"], r[side]["value"])
            for r in rows for side in ("chosen", "rejected")}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    """One import of the paper data shared by this module's tests (each adds its own runs)."""
    from tests.conftest import PAPER_DATA

    url = f"sqlite:///{tmp_path_factory.mktemp('eval') / 'kindling.db'}"
    store = Store(url)
    import_paper_data(store, PAPER_DATA, code_version="test")
    yield url, store
    store.close()


@pytest.fixture(scope="module")
def items(db: tuple[str, Store]) -> list[LabelledItem]:
    return labelled_items(db[1])


def eval_judge(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", url, "eval", "judge", *args])
    return result.exit_code, " ".join(result.output.split())


def eval_run_metrics(store: Store, output: str) -> dict:
    run_id = int(output.split("eval run ")[1].split()[0])
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None and (run.kind, run.status) == ("eval", "finished")
        return {"config": run.config, "name": run.name, **run.metrics}


def add_run(store: Store, kind: str, config: dict | None = None,
            metrics: dict | None = None) -> int:
    with store.session() as s:
        run = Run(kind=kind, status="finished", code_version="test", config=config or {},
                  metrics=metrics or {})
        s.add(run)
        s.flush()
        return run.id


def add_judgments(store: Store, run_id: int, principles: str, model: str,
                  rows: list[tuple[str, str, int | None, bool]]) -> int:
    """A principle version and (query, response, verdict, flagged) judgments; returns its id."""
    with store.session() as s:
        version = PrincipleVersion(kind="detector", name=principles, text=principles,
                                   text_hash=text_hash(principles), origin="manual")
        s.add(version)
        s.flush()
        s.add_all(Judgment(principle_version_id=version.id, model=model, query=q, response=r,
                           query_hash=text_hash(q), response_hash=text_hash(r), verdict=v,
                           flagged=flagged, run_id=run_id) for q, r, v, flagged in rows)
        return version.id


def test_labelled_items_match_the_raw_file(items: list[LabelledItem], paper_data: Path) -> None:
    raw = raw_evaluation(paper_data)
    rm_train = raw_rm_train_texts(paper_data)
    assert len(items) == len(raw) == LABELLED
    assert {(i.query, i.response): i.label for i in items} == raw
    assert all(i.length == len(i.response) for i in items)
    assert sum(i.seen_in_rm_train for i in items) == sum(k in rm_train for k in raw) \
        == SEEN_IN_RM_TRAIN
    assert {(i.query, i.response) for i in items if i.seen_in_rm_train} == set(raw) & rm_train
    unseen_positives = sum(1 for k, label in raw.items() if label == 1 and k not in rm_train)
    assert unseen_positives == UNSEEN_POSITIVES
    assert sum(i.label for i in items if not i.seen_in_rm_train) == UNSEEN_POSITIVES


def test_length_baseline_on_the_evaluation_set(items: list[LabelledItem],
                                               paper_data: Path) -> None:
    raw = raw_evaluation(paper_data)
    correct = sum((len(r) > 39) == bool(label) for (_, r), label in raw.items())
    assert correct == BASELINE_CORRECT
    m = binary_metrics([i.label for i in items], length_baseline([i.length for i in items], 39))
    assert m["accuracy"] == pytest.approx(BASELINE_CORRECT / LABELLED)  # 0.8976
    assert m["confusion"] == {"tp": 691, "fp": 59, "tn": 747, "fn": 105}
    # The default bands each hold a reasonable share of the set (see rl.evaluate.metrics).
    bands = length_bands([i.length for i in items])
    assert {b: bands.count(b) for b in set(bands)} == {"≤25": 554, "26–39": 298, "40–59": 293,
                                                      "≥60": 457}


def test_judge_run_that_is_the_length_rule_reproduces_the_baseline(
        db: tuple[str, Store], items: list[LabelledItem]) -> None:
    url, store = db
    run_id = add_run(store, "judge")
    rows: list[tuple[str, str, int | None, bool]] = [
        (i.query, i.response, int(i.length > 39), False) for i in items]
    rows.append(("不在评测集里的问题", "不在评测集里的回答", 1, False))  # outside the labelled set
    add_judgments(store, run_id, "length rule", "m", rows)
    code, output = eval_judge(url, "--judge-run", str(run_id))
    assert code == 0, output
    metrics = eval_run_metrics(store, output)
    assert metrics.pop("name") == f"eval judge: run {run_id}"  # the runs list's name for it
    assert metrics["config"].pop("task_used")["name"] == "greetings-zh"  # eval runs record it
    assert metrics["config"] == {"source": "judge", "ids": [run_id], "threshold": 39,
                                 "dataset": "evaluation_set", "band_edges": [25, 39, 59],
                                 "scope": None}
    assert metrics["overall"] == metrics["baseline"]
    assert metrics["overall"]["accuracy"] == pytest.approx(BASELINE_CORRECT / LABELLED)
    assert all(band["judge"] == band["baseline"] for band in metrics["bands"].values())
    assert metrics["unseen"]["judge"] == metrics["unseen"]["baseline"]
    assert metrics["unseen"]["judge"]["n"] == LABELLED - SEEN_IN_RM_TRAIN
    assert metrics["coverage"] == {"labelled": LABELLED, "scored": LABELLED, "failed": 0,
                                   "unjudged": 0, "outside": 1, "flagged": 0,
                                   "unseen_scored": LABELLED - SEEN_IN_RM_TRAIN}
    assert metrics["fitted"] is None and "no fitted threshold" in output
    assert "0.898" in output and "unseen" in output


def test_judge_run_over_the_whole_set_counts_cached_judgments(
        db: tuple[str, Store], items: list[LabelledItem]) -> None:
    """Judgments are a cache: a later run over the whole set finds them under its scope."""
    url, store = db
    first = add_run(store, "judge")
    # items 0-2 failed (not stored), item 3 stored without a verdict, item 4 flagged by the guard
    rows: list[tuple[str, str, int | None, bool]] = [
        (i.query, i.response, None if k == 3 else i.label, k == 4)
        for k, i in enumerate(items) if k >= 3]
    version = add_judgments(store, first, "copy labels", "m2", rows)
    whole: dict[str, Any] = {"input": {"dataset": "evaluation_set", "offset": 0, "limit": None},
             "llm": {"model": "m2"}, "samples": 1}
    later = add_run(store, "judge", whole, {"principle_version_id": version, "cached": 1599,
                                            "failed": 3})
    code, output = eval_judge(url, "--judge-run", str(later))
    assert code == 0, output
    metrics = eval_run_metrics(store, output)
    assert f"judge run {later} judged {LABELLED} responses of evaluation_set" in output
    assert metrics["config"]["scope"] == {"principle_version_id": version, "model": "m2",
                                          "samples": 1}
    assert metrics["overall"]["accuracy"] == 1.0 and metrics["overall"]["n"] == LABELLED - 4
    cov = metrics["coverage"]
    assert (cov["scored"], cov["failed"], cov["flagged"], cov["outside"]) == (LABELLED - 4, 4, 1, 0)
    partial = add_run(store, "judge", {**whole, "input": {**whole["input"], "limit": 10}},
                      {"principle_version_id": version, "cached": 10, "failed": 0})
    code, output = eval_judge(url, "--judge-run", str(partial))  # a slice: its cached ones count
    assert code == 0, output
    assert f"judge run {partial} judged 10 responses of evaluation_set" in output
    cov = eval_run_metrics(store, output)["coverage"]
    assert (cov["scored"] + cov["failed"], cov["unjudged"]) == (10, 0)
    assert cov["scored"] >= 5 and cov["failed"] >= 1


def test_curate_run_counts_failed_verdicts_and_fits_a_held_out_threshold(
        db: tuple[str, Store], items: list[LabelledItem]) -> None:
    url, store = db
    run_id = add_run(store, "curate")
    judged, held_out = split(items, 0.1, seed=3)
    failed, unjudged, ok = judged[:2], judged[2], judged[3:]
    with store.session() as s:
        rows = [(i, "ok", i.label) for i in ok] + [(i, "failed", None) for i in failed]
        s.add_all(Verdict(run_id=run_id, item_key=f"r{i.response_id}", query_id=i.query_id,
                          response_id=i.response_id, status=status, initial_verdict=v,
                          final_verdict=v) for i, status, v in rows)
        s.add_all(RunItem(run_id=run_id, item_key=f"r{i.response_id}", query_id=i.query_id,
                          response_id=i.response_id, status="pending" if i is unjudged else "done")
                  for i in judged)
    code, output = eval_judge(url, "--curate-run", str(run_id), "--length-threshold", "30")
    assert code == 0, output
    metrics = eval_run_metrics(store, output)
    assert metrics["coverage"]["scored"] == len(ok)
    assert (metrics["coverage"]["failed"], metrics["coverage"]["unjudged"]) == (2, 1)
    assert "2 failed verdicts (not scored)" in output and "1 not judged yet" in output
    assert metrics["overall"]["accuracy"] == 1.0  # this "judge" copies the labels
    labels, lengths = [i.label for i in ok], [i.length for i in ok]
    assert metrics["baseline"] == binary_metrics(labels, length_baseline(lengths, 30))
    fit = best_length_threshold([i.length for i in held_out], [i.label for i in held_out])
    assert metrics["fitted"]["threshold"] == fit and metrics["fitted"]["fit_items"] == len(held_out)
    assert metrics["fitted"]["baseline"] == binary_metrics(labels, length_baseline(lengths, fit))
    assert f"fitted threshold {fit} on {len(held_out)} held-out items" in output


def test_errors_exit_2(db: tuple[str, Store]) -> None:
    url, store = db
    with store.session() as s:
        import_run = s.scalars(select(Run.id).where(Run.kind == "import")).first()
    empty_judge = add_run(store, "judge")
    cases = [
        (["--judge-run", "9999"], "no run with id 9999"),
        (["--judge-run", str(import_run)], "is a 'import' run, not a 'judge' run"),
        (["--curate-run", str(empty_judge)], "not a 'curate' run"),
        (["--judge-run", str(empty_judge)], "no usable predictions"),
        (["--principles", "no_such_set"], "no such file, and no such name"),
        ([], "exactly one of"),
        (["--judge-run", str(empty_judge), "--bands", "40,20"], "strictly increasing"),
    ]
    for args, message in cases:
        code, output = eval_judge(url, *args)
        assert code == 2 and message in output, (args, output)


def test_principles_judges_then_evaluates(db: tuple[str, Store], monkeypatch) -> None:
    from tests.standin import StandinConfig, StandinServer

    url, store = db
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    args = ["--principles", "detector_initial", "--limit", "30",
            "--set", "llm.backend=openai", "--set", "llm.model=standin",
            "--set", "llm.api_key_env=KINDLING_TEST_KEY"]
    with StandinServer(StandinConfig()) as server:  # its Detector: Good iff ≥ 40 characters
        args += ["--set", f"llm.base_url={server.base_url}"]
        code, output = eval_judge(url, *args)
        requests = server.stats()["total"]
        # the same command again: every judgment is cached, and cached judgments are predictions
        again_code, again = eval_judge(url, *args)
        again_requests = server.stats()["total"] - requests
    assert code == 0, output
    assert "judge run" in output and "eval run" in output and requests == 30
    assert again_code == 0, again
    assert again_requests == 0
    with store.session() as s:
        judge_runs = s.scalars(select(Run).where(Run.kind == "judge")).all()
        evals = s.scalars(select(Run).where(Run.kind == "eval").order_by(Run.id)).all()
    assert judge_runs[-1].metrics["items"] == 30 and judge_runs[-1].metrics["cached"] == 30
    assert evals[-1].metrics["overall"] == evals[-2].metrics["overall"]
    assert evals[-1].metrics["coverage"]["scored"] == 30
