"""--task on curate and judge against the stand-in server: the run records the task's name and
content hash (shown by `kindling runs show`); a task that does not load fails before any run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from kindling.agents.task import TASKS_DIR, load_task
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from sqlalchemy import func, select
from typer.testing import CliRunner

from kindling.cli import app
from tests.fakes import seed_tiny_data
from tests.integration.helpers import make_items
from tests.standin import StandinConfig, StandinServer

KEY_ENV = "KINDLING_TEST_KEY"


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k")


def my_task(folder: Path) -> Path:
    """greetings-zh copied under another name, with an edited generation persona."""
    task = Path(shutil.copytree(TASKS_DIR / "greetings-zh", folder / "mine-zh"))
    text = (task / "task.yaml").read_text("utf-8").replace("name: greetings-zh", "name: mine-zh")
    (task / "task.yaml").write_text(text, encoding="utf-8")
    return task


def endpoint(base_url: str) -> list[str]:
    return ["--backend", "openai", "--base-url", base_url, "--model", "standin",
            "--api-key-env", KEY_ENV, "--no-progress"]


def runs_of(url: str) -> list[Run]:
    with Store(url).session() as s:
        return list(s.scalars(select(Run).where(Run.kind != "import").order_by(Run.id)))


def test_curate_and_judge_record_the_task(tmp_path: Path, sqlite_url: str) -> None:
    seed_tiny_data(Store(sqlite_url), make_items(2))
    task = load_task(my_task(tmp_path))
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"query": "生日祝福", "response": "生日快乐，万事如意！"},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    cli = CliRunner()
    with StandinServer(StandinConfig()) as server:
        curated = cli.invoke(app, ["--db-url", sqlite_url, "curate", "--task", str(task.folder),
                                   "--limit", "1", *endpoint(server.base_url)])
        judged = cli.invoke(app, ["--db-url", sqlite_url, "judge", "--file", str(items),
                                  "--task", str(task.folder), *endpoint(server.base_url)])
    assert curated.exit_code == 0, curated.output
    assert judged.exit_code == 0, judged.output
    curate_run, judge_run = runs_of(sqlite_url)
    for run in (curate_run, judge_run):
        assert run.config["task_used"] == {"name": "mine-zh", "hash": task.content_hash,
                                           "language": "zh", "length_unit": "chars"}
        assert run.config["task"] == str(task.folder)
    shown = cli.invoke(app, ["--db-url", sqlite_url, "runs", "show", str(curate_run.id)])
    assert "mine-zh" in shown.output and task.content_hash[:12] in shown.output


def test_the_default_task_is_recorded(tmp_path: Path, sqlite_url: str) -> None:
    seed_tiny_data(Store(sqlite_url), make_items(2))
    with StandinServer(StandinConfig()) as server:
        ran = CliRunner().invoke(app, ["--db-url", sqlite_url, "curate", "--limit", "1",
                                       *endpoint(server.base_url)])
    assert ran.exit_code == 0, ran.output
    (run,) = runs_of(sqlite_url)
    assert run.config["task_used"]["name"] == "greetings-zh"
    assert run.config["task_used"]["hash"] == load_task("greetings-zh").content_hash


@pytest.mark.parametrize("command", ["curate", "judge"])
def test_an_unknown_task_fails_before_any_run(tmp_path: Path, sqlite_url: str,
                                              command: str) -> None:
    seed_tiny_data(Store(sqlite_url), make_items(2))
    extra = ["--dataset", "evaluation_set"] if command == "judge" else []
    with StandinServer(StandinConfig()) as server:
        ran = CliRunner().invoke(app, ["--db-url", sqlite_url, command, "--task", "greetngs-zh",
                                       *extra, *endpoint(server.base_url)])
        assert server.stats()["total"] == 0
    assert ran.exit_code == 2
    out = " ".join(ran.output.split())
    assert "no such built-in task" in out and "greetings-zh" in out
    assert runs_of(sqlite_url) == []


def test_a_task_with_a_bad_field_in_a_config_fails_naming_file_line_field(
        tmp_path: Path, sqlite_url: str) -> None:
    seed_tiny_data(Store(sqlite_url), make_items(2))
    task = my_task(tmp_path)
    yaml_path = task / "task.yaml"
    yaml_path.write_text(yaml_path.read_text("utf-8").replace("length_unit: chars",
                                                              "length_unit: syllables"),
                         encoding="utf-8")
    config = tmp_path / "curate.yaml"
    config.write_text("task: ./mine-zh\n", encoding="utf-8")
    ran = CliRunner().invoke(app, ["--db-url", sqlite_url, "curate", "--config", str(config)])
    assert ran.exit_code == 2
    out = " ".join(ran.output.split())
    assert f"{config}: field task:" in out and f"{yaml_path}:" in out
    assert "field length_unit" in out
    with Store(sqlite_url).session() as s:
        assert s.scalar(select(func.count()).select_from(AgentCall)) == 0
    assert runs_of(sqlite_url) == []
