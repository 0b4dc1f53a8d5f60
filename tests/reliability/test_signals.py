"""SIGTERM ends a command as Ctrl-C does: the run is marked (never left `running`), the exit
status is 143 with one `error:` line, and running the command again resumes or refuses clearly.

Each test waits for a concrete sign of progress (requests the stand-in answered, a checkpoint on
disk, a step in the store) before it sends the signal, never for a fixed time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kindling.store.db import Store
from kindling.store.models import Judgment, Run, RunItem
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config, make_items
from tests.integration.test_train_sft import ITEMS, build_tiny_model
from tests.standin import StandinConfig, StandinServer

pytestmark = pytest.mark.reliability
KEY_ENV = "KINDLING_TEST_KEY"
PATIENCE_S = 120  # a safety net against a hung child, not a timing assertion


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """`kindling ARGS` as a user runs it: the console script's module, in its own process."""
    env = {**{k: v for k, v in os.environ.items() if k != "KINDLING_DB_URL"}, KEY_ENV: "k"}
    return subprocess.Popen([sys.executable, "-m", "kindling", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(sign: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    """Poll until `sign()` holds; fail with the child's output if it exits first."""
    deadline = time.monotonic() + PATIENCE_S
    while not sign():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"exited ({proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} after {PATIENCE_S} s")
        time.sleep(0.02)


def terminate(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, then the child's stderr once it has ended; it must end as SIGTERM says."""
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=PATIENCE_S)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 143, err
    assert lines[-1].startswith("error: stopped by SIGTERM"), err
    assert "Traceback" not in err, err
    return err


def runs(store: Store, kind: str) -> list[Run]:
    with store.session() as s:
        return list(s.scalars(select(Run).where(Run.kind == kind).order_by(Run.id)))


def test_sigterm_during_judge_marks_the_run_and_a_rerun_reuses_what_was_judged(
        tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    items = tmp_path / "items.jsonl"
    items.write_text("".join(f'{{"query": "祝福{i}", "response": "生日快乐，第{i}条祝福"}}\n'
                             for i in range(40)), encoding="utf-8")
    judge = ["--db-url", store.url, "judge", "--file", str(items), "--backend", "openai",
             "--model", "standin", "--api-key-env", KEY_ENV, "--no-progress"]
    with StandinServer(StandinConfig(latency_s=0.2)) as server:
        proc = start(*judge, "--base-url", server.base_url, "--concurrency", "2", cwd=tmp_path)
        wait_for(lambda: server.stats()["total"] >= 4, proc, "4 answered requests")
        terminate(proc)
        [run] = runs(store, "judge")
        assert run.status == "failed" and run.finished_at is not None
        with store.session() as s:
            kept = s.scalar(select(func.count()).select_from(Judgment))
        assert 1 <= kept < 40  # what was judged before the signal is kept
        server.reconfigure(latency_s=0.0)  # (counters start again from 0)
        again = CliRunner().invoke(app, [*judge, "--base-url", server.base_url],
                                   env={KEY_ENV: "k"})
        assert again.exit_code == 0, again.output
        assert server.stats()["total"] == 40 - kept  # the kept judgments were not asked again
    assert [r.status for r in runs(store, "judge")] == ["failed", "finished"]


def test_sigterm_during_curate_stops_the_run_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    """The asyncio path: the run is `stopped`, its items given back, and the same command
    resumes the same run to `finished`."""
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    seed_tiny_data(store, make_items(12))
    with StandinServer(StandinConfig(latency_s=0.1)) as server:
        cfg = tmp_path / "curate.yaml"
        cfg.write_text(http_config(server.base_url, concurrency=2).model_dump_json(),
                       encoding="utf-8")
        curate = ["--db-url", store.url, "curate", "--config", str(cfg), "--no-progress"]
        proc = start(*curate, cwd=tmp_path)
        wait_for(lambda: server.stats()["total"] >= 6, proc, "6 answered requests")
        terminate(proc)
        [run] = runs(store, "curate")
        assert run.status == "stopped" and "interrupted" in run.metrics["stopped"]
        with store.session() as s:
            held = s.scalar(select(func.count()).select_from(RunItem)
                            .where(RunItem.status == "claimed"))
        assert held == 0  # given back, not left to a lease
        server.reconfigure(latency_s=0.0)
        again = CliRunner().invoke(app, curate, env={KEY_ENV: "k"})
        assert again.exit_code == 0, again.output
    assert [(r.id, r.status) for r in runs(store, "curate")] == [(run.id, "finished")]


def sft_config(tmp_path: Path, model: Path) -> Path:
    """Training that would run long: a checkpoint and a store row every step."""
    path = tmp_path / "sft.yaml"
    path.write_text(
        f"kindling:\n  model: {model}\ntrl:\n  output_dir: {tmp_path / 'out'}\n"
        "  max_steps: 100000\n  per_device_train_batch_size: 2\n  logging_steps: 1\n"
        "  save_strategy: steps\n  save_steps: 1\n  bf16: false\n  use_cpu: true\n"
        "  report_to: none\n  max_length: 64\n  dataloader_num_workers: 0\n", encoding="utf-8")
    return path


def checkpoints(out: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*"))


def last_step(store: Store, run_id: int) -> int:
    with store.session() as s:
        run = s.get(Run, run_id)
        steps = (run.metrics or {}).get("steps") or [] if run is not None else []
    return max((e["step"] for e in steps), default=0)


def test_sigterm_during_sft_marks_it_failed_and_overwrite_never_mixes_checkpoints(
        tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    seed_tiny_data(store, ITEMS)
    build_tiny_model(tmp_path / "tiny", ["生日祝福", "新年祝福", "生日快乐！", "新年快乐！"])
    train = ["--db-url", store.url, "train", "sft", "--config",
             str(sft_config(tmp_path, tmp_path / "tiny")), "--no-progress"]
    out = tmp_path / "out"

    first = start(*train, cwd=tmp_path)
    wait_for(lambda: checkpoints(out)[-1:] >= [10], first, "checkpoint-10")
    terminate(first)
    [old] = runs(store, "sft")
    assert old.status == "failed" and "KeyboardInterrupt" in old.metrics["error"]
    old_last = checkpoints(out)[-1]

    refused = CliRunner().invoke(app, train)  # the same command again: a clear refusal
    assert refused.exit_code == 2 and "pass --overwrite" in " ".join(refused.output.split())

    second = start(*train, "--overwrite", cwd=tmp_path)
    wait_for(lambda: len(runs(store, "sft")) == 2 and last_step(store, runs(store, "sft")[1].id)
             >= 1, second, "the new run's first step")
    terminate(second)
    new = runs(store, "sft")[1]
    assert new.status == "failed"
    new_last = last_step(store, new.id)
    assert new_last < old_last  # stopped before it could write over every old checkpoint
    assert all(step <= new_last for step in checkpoints(out)), (  # none left from the old run
        f"old run reached {old_last}, new run {new_last}: {checkpoints(out)}")


def test_an_interrupted_launcher_passes_sigterm_to_its_child(tmp_path: Path) -> None:
    """`train --launcher accelerate` runs accelerate as a child: SIGTERM to Kindling reaches it
    (accelerate passes it on to the ranks), so every rank can mark its run before it ends."""
    marker = tmp_path / "child-got-sigterm"
    child = (f"import signal, sys, time, pathlib\n"
             f"def bye(*_):\n    pathlib.Path({str(marker)!r}).write_text('yes'); sys.exit(3)\n"
             f"signal.signal(signal.SIGTERM, bye)\nprint('ready', flush=True)\ntime.sleep(600)\n")
    parent = (f"import sys, typer\nfrom kindling.signals import run_child, sigterm_as_interrupt\n"
              f"try:\n    with sigterm_as_interrupt():\n"
              f"        sys.exit(run_child([sys.executable, '-c', {child!r}]))\n"
              f"except typer.Exit as stop:\n    sys.exit(stop.exit_code)\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"  # the child runs
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 143, err
    assert marker.read_text() == "yes"  # the child was told, and ended by itself


def test_an_interrupted_experiment_step_passes_sigterm_to_its_process(tmp_path: Path) -> None:
    """An experiment step runs in a process of its own: SIGTERM to the experiment reaches it
    (so its run is marked) and the step's log keeps what the process wrote."""
    marker, log = tmp_path / "step-got-sigterm", tmp_path / "logs" / "sft.log"
    child = (f"import signal, sys, time, pathlib\n"
             f"def bye(*_):\n    pathlib.Path({str(marker)!r}).write_text('yes'); sys.exit(3)\n"
             f"signal.signal(signal.SIGTERM, bye)\nprint('ready', flush=True)\ntime.sleep(600)\n")
    parent = (f"import sys, typer\nfrom pathlib import Path\n"
              f"from kindling.signals import sigterm_as_interrupt\n"
              f"from kindling.services.experiment_launch import StepProcess, run_process\n"
              f"step = StepProcess([sys.executable, '-c', {child!r}], 1, Path({str(log)!r}))\n"
              f"try:\n    with sigterm_as_interrupt():\n"
              f"        run_process(step, db_url='sqlite://', echo=lambda l: print(l, flush=True))\n"
              f"except typer.Exit as stop:\n    sys.exit(stop.exit_code)\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"  # the step runs
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 143, err
    assert marker.read_text() == "yes"  # the step's process was told, and ended by itself
    assert log.read_text(encoding="utf-8") == "ready\n"
