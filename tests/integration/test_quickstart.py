"""`kindling quickstart` at reduced size, end to end: every step's run lands in the store, the four
policies are compared, and a second invocation skips the finished steps."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from kindling.store.db import Store
from kindling.store.models import Run
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services.paper_data import PAPER_DATA_ENV, UPSTREAM_URL_ENV

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--sft-steps", "2", "--rm-pairs", "32", "--grpo-steps", "1", "--judge-steps", "1",
         "--judge-batch", "4", "--eval-prompts", "2", "--eval-limit", "60", "--no-progress"]
"""Small sizes: one judge-arm step of one group (4 completions, 4 calls to SmolLM2), the RM
evaluated and the comparison's RM threshold fitted on 60 labelled items."""


def test_quickstart_end_to_end_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import PAPER_DATA

    monkeypatch.chdir(tmp_path)  # outputs go under ./quickstart, as for a user
    assert not (tmp_path.parent / "shared").exists()  # no ../shared beside: the variable is read
    monkeypatch.setenv(PAPER_DATA_ENV, str(PAPER_DATA))
    monkeypatch.setenv(UPSTREAM_URL_ENV, "http://127.0.0.1:9/dataset")  # never a download
    url = f"sqlite:///{tmp_path / 'kindling.db'}"
    args = ["--db-url", url, "quickstart", "--configs", str(REPO / "configs"), *SMALL]
    result = CliRunner().invoke(app, args)
    out = " ".join(result.output.split())
    assert result.exit_code == 0, out
    assert f"paper data: ${PAPER_DATA_ENV}={PAPER_DATA}" in out
    for title in ("step 1: import the paper data", "step 8: GRPO with the LLM judge",
                  "step 9: compare the policies", "grpo-judge used the LLM judge as its reward: 4",
                  "SmolLM2-135M served offline", "a stand-in so the arm runs with no key",
                  "quickstart steps", "What each policy writes", "self-BLEU ↓",
                  "Samples", "prompt 1:", "Findings", "The reward model picks the preferred text",
                  "While grpo-rm trained (1 logged step)", "While grpo-rm+length trained"):
        assert title in out
    assert "Loading weights" not in out and "LOAD REPORT" not in out  # library noise is off
    store = Store(url)
    try:
        with store.session() as s:
            runs = {(r.kind, r.status) for r in s.query(Run).all()}
            grpo = s.query(Run).filter_by(kind="grpo").order_by(Run.id).all()
            policy_eval = [r for r in s.query(Run).filter_by(kind="eval").all()
                           if r.config.get("source") == "policy"]
    finally:
        store.close()
    assert {("import", "finished"), ("sft", "finished"), ("rm", "finished"),
            ("grpo", "finished"), ("eval", "finished")} <= runs
    assert [r.config["kindling"]["rewards"] for r in grpo] == [
        {"rm": 1.0}, {"rm": 1.0, "length_control": 10.0},  # weights from configs/grpo_tiny.yaml
        {"judge": 1.0}]
    assert grpo[2].metrics["judge_stats"]["items"] == 4 and grpo[2].name == "grpo-judge"
    assert grpo[2].config["trl"]["per_device_train_batch_size"] == 4  # --judge-batch
    assert list(policy_eval[0].metrics["policies"]) == ["base", "sft", "grpo-rm",
                                                      "grpo-rm+length", "grpo-judge"]
    assert policy_eval[0].config["rm_fit"]["items"] == 60  # --eval-limit bounds the threshold fit
    for folder in ("models/tiny", "runs/sft", "models/rm", "runs/grpo_rm", "runs/grpo_rm_lc",
                   "runs/grpo_judge"):
        assert (tmp_path / "quickstart" / folder / "config.json").is_file()

    again = CliRunner().invoke(app, args)
    again_out = " ".join(again.output.split())
    assert again.exit_code == 0, again_out
    assert again_out.count("already done") == 6  # tiny, sft, rm, the three GRPO runs
    assert "paper data: already in the store (import run " in again_out

    # an evaluation size redoes the evaluation and the comparison, never a training step
    wider = CliRunner().invoke(app, [*args, "--eval-limit", "40"])
    wider_out = " ".join(wider.output.split())
    assert wider.exit_code == 0, wider_out
    assert wider_out.count("already done") == 6 and "eval run" in wider_out
    assert "on 40 labelled responses" in wider_out


def test_judge_batch_of_part_of_a_group_is_refused_first(tmp_path: Path) -> None:
    from tests.conftest import PAPER_DATA

    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = CliRunner().invoke(app, ["--db-url", url, "quickstart", "--from", str(PAPER_DATA),
                                      "--configs", str(REPO / "configs"), "--workdir",
                                      str(tmp_path / "qs"), "--judge-batch", "6"])
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "--judge-batch 6: must be a multiple of 4" in out, out
    assert not (tmp_path / "k.db").exists() and not (tmp_path / "qs").exists()  # nothing ran


def test_missing_configs_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--db-url", f"sqlite:///{tmp_path / 'k.db'}", "quickstart",
                                      "--configs", str(tmp_path)])
    assert result.exit_code == 2 and "missing sft_tiny.yaml" in " ".join(result.output.split())


def test_a_fresh_clone_with_no_data_and_no_network_says_how_to_get_it(tmp_path: Path) -> None:
    """A clone with nothing beside it, an empty home and no network: one line, exit 2, nothing
    made (the real console script, as a user runs it)."""
    clone, home = tmp_path / "clone", tmp_path / "home"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in (PAPER_DATA_ENV, "KINDLING_DB_URL", "XDG_CACHE_HOME")}
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/dataset"
        env.update({"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
                    UPSTREAM_URL_ENV: dead})
        done = subprocess.run([str(Path(sys.executable).parent / "kindling"), "quickstart"],
                              cwd=clone, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(
        f"error: no paper data: pass --from DIR (the paper's dataset/ folder), set "
        f"{PAPER_DATA_ENV}=DIR, or run `kindling data import --upstream` when online "
        f"(downloads about 6 MB from {dead}); "), done.stderr
    untracked = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=clone,
                               capture_output=True, text=True, check=True).stdout
    assert untracked == "" and list(home.iterdir()) == []  # no store, no workdir, no cache


def test_a_group_size_that_is_not_a_number_is_a_clear_error(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("sft_tiny.yaml", "rm_tiny.yaml", "grpo_tiny.yaml"):
        (configs / name).write_bytes((REPO / "configs" / name).read_bytes())
    (configs / "grpo_judge_tiny.yaml").write_text("trl:\n  num_generations: four\n")
    result = CliRunner().invoke(app, ["--db-url", f"sqlite:///{tmp_path / 'k.db'}", "quickstart",
                                      "--configs", str(configs), "--workdir", str(tmp_path / "qs")])
    out = " ".join(result.output.split())
    assert result.exit_code == 2, out
    assert "field trl.num_generations: 'four' is not a whole number" in out, out
    assert not (tmp_path / "qs").exists()  # nothing ran
