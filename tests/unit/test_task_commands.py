"""`kindling task list|show|new`: the tasks there are, each role's prompt for the task's worked
example, a copy of a task under ./tasks/ (never over an existing folder)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kindling.agents.task import load_task, resolve_task
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services.tasks import ROLES, list_tasks, new_task, render_roles


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_new_copies_sets_the_name_and_is_listed(project: Path) -> None:
    ran = CliRunner().invoke(app, ["task", "new", "mine", "--from", "greetings-zh"])
    assert ran.exit_code == 0, ran.output
    task = load_task(project / "tasks" / "mine")
    assert (task.name, task.language) == ("mine", "zh")
    assert resolve_task("mine").folder == (project / "tasks" / "mine").resolve()
    rows = {row.name: row for row in list_tasks()}
    assert {"greetings-zh", "mine"} <= rows.keys()
    assert rows["greetings-zh"].where == "built-in" and rows["mine"].language == "zh"
    listed = CliRunner().invoke(app, ["task", "list"])
    assert listed.exit_code == 0 and "mine" in listed.output


def test_new_never_overwrites(project: Path) -> None:
    new_task("mine", "greetings-zh")
    path = project / "tasks" / "mine" / "task.yaml"
    path.write_text(path.read_text("utf-8") + "# edited\n", encoding="utf-8")
    ran = CliRunner().invoke(app, ["task", "new", "mine"])
    assert ran.exit_code == 2 and "already exists" in ran.output
    assert path.read_text("utf-8").endswith("# edited\n")


def test_new_with_a_language_says_which_templates_exist(project: Path) -> None:
    ran = CliRunner().invoke(app, ["task", "new", "mine-en", "--language", "en"])
    assert ran.exit_code == 0, ran.output
    assert "language en: built-in templates exist" in " ".join(ran.output.split())
    spec = yaml.safe_load((project / "tasks" / "mine-en" / "task.yaml").read_text("utf-8"))
    assert (spec["name"], spec["language"]) == ("mine-en", "en")
    other = CliRunner().invoke(app, ["task", "new", "mine-fr", "--language", "fr"])
    assert other.exit_code == 0 and "no built-in templates" in " ".join(other.output.split())


def test_show_renders_every_role_with_the_worked_example() -> None:
    task = resolve_task("greetings-zh")
    rendered = render_roles(task)
    assert [role for role, _t, _text in rendered] == list(ROLES)
    example = task.spec.judge.example
    detect = next(text for role, _t, text in rendered if role == "detect")
    assert example.response in detect
    ran = CliRunner().invoke(app, ["task", "show", "greetings-zh", "--role", "critic"])
    assert ran.exit_code == 0, ran.output
    assert "curate/paper/critic.zh.jinja" in ran.output and "advocate ·" not in ran.output
    assert task.content_hash in ran.output


def test_show_an_unknown_role_or_task() -> None:
    role = CliRunner().invoke(app, ["task", "show", "greetings-zh", "--role", "boss"])
    assert role.exit_code == 2 and "no such role" in role.output
    task = CliRunner().invoke(app, ["task", "show", "greetings-zx"])
    out = " ".join(task.output.split())
    assert task.exit_code == 2 and "did you mean greetings-zh" in out
