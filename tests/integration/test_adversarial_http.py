"""Path B over real HTTP: a scripted run exercises fooled and caught branches, reflection,
early stopping and a budget stop; the stored lineage matches the script."""

from pathlib import Path

from kindling.agents.adversarial.config import AdversarialConfig
from kindling.agents.llm.config import LLMConfig
from kindling.store.db import Store
from kindling.store.models import AgentCall, PrincipleVersion
from sqlalchemy import select
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services.adversarial import AdversarialRunner
from tests.standin import StandinConfig, StandinServer


def config(base_url: str, **overrides) -> AdversarialConfig:
    llm = LLMConfig(backend="openai", base_url=base_url, model="standin",
                    api_key_env="KINDLING_TEST_KEY", backoff_initial_s=0.01, max_concurrency=16)
    base = {"iterations": 5, "batch_size": 3, "labelled_batch_size": 30, "validation_size": 12,
            "patience": 2, "llm": llm}
    return AdversarialConfig(**(base | overrides))


async def test_scripted_run_lineage_and_early_stop(paper_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    script = StandinConfig(script="adversarial", script_modules=["tests.standin.adversarial_scripts"])
    with StandinServer(script) as server:
        outcome = await AdversarialRunner(paper_store, config(server.base_url)).run()
    # the stand-in Detector ignores the principles, so no revision beats the starting S_D
    # (iteration 0, validated first): equal F1 keeps each revision, and patience stops the loop
    assert [h["iteration"] for h in outcome.history] == [0, 1, 2]
    assert outcome.stop == "no validation gain for 2 iterations (patience 2)"
    assert outcome.best_sd_id == outcome.history[0]["sd_id"]
    assert [h["accepted"] for h in outcome.history] == [True, True, True]
    assert outcome.history[1]["sd_id"] != outcome.history[0]["sd_id"]
    with paper_store.session() as s:
        versions = s.scalars(select(PrincipleVersion).order_by(PrincipleVersion.id)).all()
        roles = s.scalars(select(AgentCall.role).where(AgentCall.run_id == outcome.run_id)).all()
    by_id = {v.id: v for v in versions}
    sd = [v for v in versions if v.kind == "detector" and v.origin == "optimizer"]
    sg = [v for v in versions if v.kind == "generator" and v.origin == "optimizer"]
    # per iteration: S_G rewritten (caught samples), S_D rewritten when fooled, then after reflection
    assert [v.iteration for v in sg] == [1, 2]
    assert [v.iteration for v in sd] == [1, 1, 2, 2]
    for v in sd + sg:  # each revision's parent is the version before it, of its own kind
        parent = by_id[v.parent_id]
        assert parent.kind == v.kind and parent.id < v.id
    assert by_id[sd[0].parent_id].origin == "file"  # the chain starts at detector_initial
    assert all(len(v.text.splitlines()) == 2 for v in sd)  # the duplicated rule was merged
    assert "辞藻堆砌" in sd[0].feedback  # fooled: S_D learns from the Generator's explanation
    assert "只看了长度" in sd[1].feedback  # reflection on the Detector's mistakes
    assert {"generate_flawed", "detect", "revise_strategies", "revise_principles",
            "reflect_error"} <= set(roles)
    assert all(by_id[h["sd_id"]].metrics["f1"] == h["f1"] for h in outcome.history)


async def test_budget_stop(paper_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("KINDLING_TEST_KEY", "k")
    script = StandinConfig(script="adversarial", script_modules=["tests.standin.adversarial_scripts"])
    with StandinServer(script) as server:
        outcome = await AdversarialRunner(paper_store, config(server.base_url, call_budget=10,
                                                              patience=5)).run()
    assert [h["iteration"] for h in outcome.history] == [0, 1]
    assert outcome.stop.startswith("LLM-call budget spent")


def test_kill_nine_mid_iteration_then_resume(paper_store: Store, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from sqlalchemy import func

    script = StandinConfig(script="adversarial", latency_s=0.05,
                           script_modules=["tests.standin.adversarial_scripts"])
    with StandinServer(script) as server:
        cfg_path = tmp_path / "adv.yaml"
        cfg_path.write_text(config(server.base_url, iterations=2, patience=5).model_dump_json(),
                            encoding="utf-8")
        env = {**os.environ, "KINDLING_DB_URL": paper_store.url, "KINDLING_TEST_KEY": "k"}
        cmd = [sys.executable, "-m", "kindling", "adversarial", "--config", str(cfg_path)]

        def stored_calls() -> int:
            with paper_store.session() as s:
                return s.scalar(select(func.count()).select_from(AgentCall)) or 0

        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        deadline = time.monotonic() + 120
        while stored_calls() < 60:  # inside iteration 1 (about 50 calls) or early iteration 2
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # the rerun in this process (the kill is what needs the child): the same command line
        again = CliRunner().invoke(app, cmd[3:], env={k: env[k] for k in (
            "KINDLING_DB_URL", "KINDLING_TEST_KEY")})
        assert again.exit_code == 0, again.output
    assert "reached 2 iterations" in again.stdout
    with paper_store.session() as s:
        repeated = s.execute(
            select(AgentCall.item_key, AgentCall.role, func.count())
            .where(AgentCall.parsed_output.is_not(None))
            .group_by(AgentCall.item_key, AgentCall.role).having(func.count() > 1)).all()
        iterations = s.scalars(select(PrincipleVersion.iteration).where(
            PrincipleVersion.kind == "generator", PrincipleVersion.origin == "optimizer")).all()
    assert repeated == []  # no stored result was asked for again
    assert sorted(iterations) == [1, 2]  # each iteration revised S_G exactly once
