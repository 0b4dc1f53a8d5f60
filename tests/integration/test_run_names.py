"""Runs carry names: given with --name (a resumed run takes the new one), derived by default for
training runs, usable wherever a run id is; `runs show` prints a summary, `--full` everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.rl.train_config import KindlingGRPO, KindlingSFT, run_name
from kindling.store import work
from kindling.store.db import Store
from kindling.store.reports import policy_output_dir
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.standin import StandinServer


def test_training_runs_are_named_by_kind_and_rewards() -> None:
    grpo = KindlingGRPO(model="m", rewards={"rm": 1.0, "length_control": 1.0}, rm_model="r")
    assert run_name("grpo", grpo) == "grpo-rm+length"
    assert run_name("grpo", KindlingGRPO(model="m", rewards={"rm": 1.0}, rm_model="r")) == \
        "grpo-rm"
    assert run_name("sft", KindlingSFT(model="m")) == "sft"
    assert run_name("sft", KindlingSFT(model="m", name="mine")) == "mine"


def test_names_on_the_cli_resume_rename_and_resolve(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store = Store(url)
    seed_tiny_data(store, make_items(2))
    cfg = tmp_path / "cfg.yaml"
    cli = CliRunner()
    with StandinServer() as server:
        cfg.write_text(http_config(server.base_url).model_dump_json(), encoding="utf-8")
        first = cli.invoke(app, ["--db-url", url, "curate", "-c", str(cfg), "--no-progress",
                                 "--name", "path-a"])
        assert first.exit_code == 0, first.output
        again = cli.invoke(app, ["--db-url", url, "curate", "-c", str(cfg), "--no-progress",
                                 "--name", "path-a v2"])  # the same config: resumed, renamed
        assert again.exit_code == 0, again.output
    listed = cli.invoke(app, ["--db-url", url, "runs"], terminal_width=200)
    assert "path-a v2" in listed.output and listed.output.count("curate") == 1
    shown = cli.invoke(app, ["--db-url", url, "runs", "show", "path-a v2"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "2 curate · path-a v2" in shown.output and "2 done" in shown.output
    assert "KINDLING_TEST_KEY" in shown.output and "trl" not in shown.output
    assert len(shown.output.splitlines()) < 40  # a summary, not the whole config
    full = cli.invoke(app, ["--db-url", url, "runs", "show", "run:path-a v2", "--full"])
    assert "config:" in full.output and "metrics:" in full.output and "agents" in full.output
    missing = cli.invoke(app, ["--db-url", url, "runs", "show", "nosuch"])
    assert missing.exit_code == 2 and "no run named 'nosuch' in the store" in missing.output


def test_a_policy_is_named_by_its_run_name(sqlite_store: Store, tmp_path: Path) -> None:
    out = str(tmp_path / "runs" / "grpo_rm")  # runs record absolute paths
    run, _ = work.get_or_create_run(sqlite_store, kind="grpo", run_key=None, name="grpo-rm",
                                    config={"trl": {"output_dir": out}}, code_version="t")
    assert policy_output_dir(sqlite_store, "run:grpo-rm") == out
    assert policy_output_dir(sqlite_store, f"run:{run.id}") == out
    with pytest.raises(ValueError, match="expected an sft or grpo run; no run named 'grpo-judge'"):
        policy_output_dir(sqlite_store, "run:grpo-judge")


def test_runs_show_gives_a_grpo_runs_length_and_watch_alerts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store = Store(url)
    run, _ = work.get_or_create_run(store, kind="grpo", run_key=None, name="grpo-rm",
                                    config={"trl": {"output_dir": "runs/grpo_rm"}},
                                    code_version="t")
    alert = {"step": 8, "metric": "length_drift", "value": 0.86, "action": "warn",
             "rule": "length_drift > 0.3 for 5 steps"}
    work.finish_run(store, run.id, "finished", {
        "steps": [{"step": 8, "reward": 8.6, "watch/length_chars": 174.0,
                   "watch/length_drift": 0.86}], "watch_alerts": [alert]})
    shown = CliRunner().invoke(app, ["--db-url", url, "runs", "show", "grpo-rm"],
                               terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "watch/length_chars 174" in shown.output and "watch/length_drift 0.86" in shown.output
    assert "watch alerts" in shown.output
    assert "step 8: length_drift > 0.3 for 5 steps → warn" in shown.output
