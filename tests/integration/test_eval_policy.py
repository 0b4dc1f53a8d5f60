"""`kindling eval policy` on the paper data: two policies sampled, scored by a reward model and by
the judge over real HTTP (the stand-in Detector says Good iff a response has ≥ 40 characters)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kindling.store import work
from kindling.store.db import Store
from kindling.store.models import Run
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from typer.testing import CliRunner

from kindling.cli import app
from tests.integration.helpers import imported_store, random_length_policy
from tests.standin import JUDGE_MIN_CHARS, StandinConfig, StandinServer

KEY_ENV = "KINDLING_TEST_KEY"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store, Path]]:
    """The paper data, a tiny policy whose tokenizer knows the SFT characters, and an RM from it."""
    folder = tmp_path_factory.mktemp("policy")
    url, store, _import_run = imported_store(folder)
    random_length_policy(store, folder / "tiny")
    rm = AutoModelForSequenceClassification.from_pretrained(folder / "tiny", num_labels=1)
    rm.save_pretrained(folder / "rm")
    AutoTokenizer.from_pretrained(folder / "tiny").save_pretrained(folder / "rm")
    yield url, store, folder
    store.close()


def cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", url, *args])
    return result.exit_code, " ".join(result.output.split())


def test_two_policies_side_by_side_with_rm_and_judge(
        db: tuple[str, Store, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, store, folder = db
    monkeypatch.setenv(KEY_ENV, "k")
    sft_run, _ = work.get_or_create_run(store, kind="sft", run_key=None, config={},
                                        code_version="test")
    work.finish_run(store, sft_run.id, "finished", {"output_dir": str(folder / "tiny")})
    with StandinServer(StandinConfig(latency_s=0.0)) as server:
        judge_yaml = folder / "judge.yaml"
        judge_yaml.write_text(f"llm:\n  backend: openai\n  base_url: {server.base_url}\n"
                              f"  model: standin\n  api_key_env: {KEY_ENV}\n  max_retries: 1\n",
                              encoding="utf-8")
        code, out = cli(url, "eval", "policy", "--model", f"base={folder / 'tiny'}",
                        "--model", f"run:{sft_run.id}", "--limit", "6", "--samples", "2",
                        "--max-new-tokens", "60", "--temperature", "1.0", "--rm", str(folder / "rm"),
                        "--judge-config", str(judge_yaml), "--out", str(folder / "samples.jsonl"))
    assert code == 0, out
    assert "policies on held-out prompts" in out and "len>39" in out and "self-BLEU" in out
    run_id = int(out.split("eval run ")[1].split()[0])
    with store.session() as s:
        ev = s.get(Run, run_id)
        assert ev is not None and ev.kind == "eval" and ev.status == "finished"
        config, report = ev.config, ev.metrics["policies"]
    assert config["policies"] == {"base": str(folder / "tiny"), f"run:{sft_run.id}": str(folder / "tiny")}
    assert config["rm_fit"]["fitted_on"] == "evaluation_set" and config["rm_fit"]["items"] == 1602
    base, again = report["base"], report[f"run:{sft_run.id}"]
    assert base == again  # the same weights under the same seed write the same samples
    assert base["samples"] == 12 and base["judge"]["excellence"]["failed"] == 0
    assert 0 < base["judge"]["excellence"]["rate"] < 1  # the stop-at-random model writes both

    rows = [json.loads(line) for line in (folder / "samples.jsonl").read_text("utf-8").splitlines()]
    assert len(rows) == 24 and {r["policy"] for r in rows} == {"base", f"run:{sft_run.id}"}
    mine = [r for r in rows if r["policy"] == "base"]
    assert [r["judge_verdict"] for r in mine] == [int(len(r["completion"]) >= JUDGE_MIN_CHARS)
                                                  for r in mine]
    t = config["rm_fit"]["threshold"]
    assert base["rm"]["excellence"]["rate"] == pytest.approx(
        sum(r["rm_score"] > t for r in mine) / len(mine))
    assert base["mean_length"] == pytest.approx(sum(len(r["completion"]) for r in mine) / len(mine))


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "/nowhere/model"], "does not exist"),
    (["--model", "a=/x", "--model", "a=/y"], "used twice"),
    (["--model", "run:99999"], "expected an sft or grpo run"),
    (["--model", "x", "--set", "llm.backend=openai"], "--principles or --judge-config"),
    (["--model", "x", "--prompts", "no_such_dataset"], "no queries"),
])
def test_bad_input_is_a_clear_error(db: tuple[str, Store, Path], args: list[str],
                                    message: str) -> None:
    url, _store, folder = db
    args = [a.replace("=x", f"={folder / 'tiny'}") if a == "x" else a for a in args]
    args = [str(folder / "tiny") if a == "x" else a for a in args]
    code, out = cli(url, "eval", "policy", *args)
    assert code == 2 and message in out, out
