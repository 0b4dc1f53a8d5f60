"""`eval policy` and `eval rm` with --task slogans-en on a tiny model: lengths in words, the
length rule's threshold fitted on the task's labels (good iff more than 5 words, DATA.md), and
the eval runs record the task."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kindling.agents.language import text_length
from kindling.agents.task import load_task
from kindling.store.db import Store
from kindling.store.models import Run
from typer.testing import CliRunner

from kindling.cli import app
from tests.integration.test_train_sft import build_tiny_model

DATA = load_task("slogans-en").folder / "data"


def cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", url, *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store, Path]]:
    """The slogans' three files and a pairs file made from its labels imported; a tiny policy
    on the slogans, stopping at random lengths, and a reward model from it."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("eval_task")
    url = f"sqlite:///{folder / 'kindling.db'}"
    for file, shape in (("labelled", "labelled"), ("prompts", "prompts"), ("sft", "sft")):
        code, out = cli(url, "data", "import", "--file", str(DATA / f"{file}.jsonl"), "--as",
                        shape, "--dataset", f"slogans-en-{file}")
        assert code == 0, out
    rows = [json.loads(line) for line in
            (DATA / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    by_query: dict[str, dict[int, str]] = {}
    for row in rows:
        by_query.setdefault(row["query"], {}).setdefault(row["label"], row["response"])
    pairs = folder / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"query": q, "chosen": d[1], "rejected": d[0]}) + "\n"
                             for q, d in by_query.items() if 0 in d and 1 in d), "utf-8")
    code, out = cli(url, "data", "import", "--file", str(pairs), "--as", "pairs", "--dataset",
                    "slogans-en-pairs")
    assert code == 0, out
    texts = [r["response"] for r in rows] + [r["query"] for r in rows]
    model = build_tiny_model(folder / "tiny", texts)
    with torch.no_grad():
        model.lm_head.weight[model.config.eos_token_id] *= 6
    model.save_pretrained(folder / "tiny")
    rm = AutoModelForSequenceClassification.from_pretrained(folder / "tiny", num_labels=1)
    rm.save_pretrained(folder / "rm")
    AutoTokenizer.from_pretrained(folder / "tiny").save_pretrained(folder / "rm")
    store = Store(url)
    yield url, store, folder
    store.close()


def eval_run(store: Store, out: str) -> Run:
    run_id = int(out.split("eval run ")[1].split()[0])
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        s.expunge(run)
    return run


def test_eval_policy_slogans_in_words_with_a_fitted_threshold(
        db: tuple[str, Store, Path]) -> None:
    url, store, folder = db
    code, out = cli(url, "eval", "policy", "--task", "slogans-en", "--model",
                    f"tiny={folder / 'tiny'}", "--prompts", "slogans-en-prompts", "--labels",
                    "slogans-en-labelled", "--limit", "4", "--samples", "2",
                    "--max-new-tokens", "40", "--temperature", "1.0",
                    "--out", str(folder / "samples.jsonl"))
    assert code == 0, out
    assert "len>5" in out and "5 words" in out and "lengths in words" in out
    assert "fitted on 174 labelled responses of slogans-en-labelled" in out
    run = eval_run(store, out)
    assert run.config["task_used"]["name"] == "slogans-en"
    assert run.config["task_used"]["length_unit"] == "words"
    assert run.config["length_rule"]["source"] == "fitted"
    assert run.config["length_threshold"] == 5
    texts = [json.loads(line)["completion"] for line in
             (folder / "samples.jsonl").read_text("utf-8").splitlines()]
    report = run.metrics["policies"]["tiny"]
    words = [text_length(t, "words") for t in texts]
    assert report["mean_length"] == pytest.approx(sum(words) / len(words))
    assert report["length_rule"] == pytest.approx(sum(w > 5 for w in words) / len(words))


def test_eval_policy_slogans_without_labels_says_how(db: tuple[str, Store, Path]) -> None:
    url, _store, folder = db
    code, out = cli(url, "eval", "policy", "--task", "slogans-en", "--model", str(folder / "tiny"),
                    "--prompts", "slogans-en-prompts")
    assert code != 0
    assert "no labelled items in dataset 'evaluation_set'" in out and "--length-threshold" in out
    code, out = cli(url, "eval", "policy", "--task", "slogans-en", "--model", str(folder / "tiny"),
                    "--prompts", "slogans-en-prompts", "--limit", "2", "--max-new-tokens", "8",
                    "--length-threshold", "7")
    assert code == 0, out
    assert "len>7" in out and "7 words (given)" in out


def test_eval_rm_slogans_in_words(db: tuple[str, Store, Path]) -> None:
    url, store, folder = db
    with store.session() as s:
        pairs_run = max(r.id for r in s.query(Run).filter(Run.kind == "import"))
    code, out = cli(url, "eval", "rm", "--task", "slogans-en", "--model", str(folder / "rm"),
                    "--pairs-run", str(pairs_run), "--pairs-dataset", "slogans-en-pairs",
                    "--dataset", "slogans-en-labelled", "--batch-size", "16")
    assert code == 0, out
    assert "words" in out
    run = eval_run(store, out)
    assert run.config["task_used"]["name"] == "slogans-en"
    assert run.config["threshold_fitted"] is True
    agreement = run.metrics["agreement"]
    assert agreement["length_unit"] == "words"
    assert run.config["threshold"] == agreement["threshold"]
    assert run.config["band_edges"][-1] < 20  # word bands, not the character bands (25, 39, 59)
