"""What `kindling task list|show|new` do: list tasks, render each role's prompt for a sample
item, copy a task folder into the project for editing."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.agents.task import (
    PROJECT_TASKS,
    TASK_FILE,
    Task,
    TaskError,
    builtin_tasks,
    load_task,
    resolve_task,
)
from kindling.agents.task_templates import SAMPLE, builtin_languages
from kindling.prompts import PROMPTS_DIR
from kindling.store.principle_io import load_principles

ROLES: dict[str, str] = {
    "generate": "curate/generate",
    "advocate": "curate/paper/advocate",
    "critic": "curate/paper/critic",
    "judge": "curate/paper/judge",
    "reflect": "curate/paper/reflect",
    "detect": "judge/detect",
    "generate_flawed": "adversarial/generate_flawed",
    "detect_flawed": "adversarial/detect_flawed",
    "reflect_on_error": "adversarial/reflect_on_error",
    "revise_principles": "adversarial/revise_principles",
    "revise_strategies": "adversarial/revise_strategies",
}
"""A role's name in `task show --role` → the template it renders (the paper's prompt set)."""


@dataclass(frozen=True)
class TaskRow:
    name: str
    language: str
    summary: str
    where: str  # "built-in" or the project folder's path


def list_tasks(project: Path | None = None) -> list[TaskRow]:
    """Built-in tasks, then the project's under ./tasks/ (a folder that does not load is listed
    with its error as the summary)."""
    folder = _project(project) / PROJECT_TASKS
    rows = [_row(resolve_task(name), "built-in") for name in builtin_tasks()]
    for path in sorted(folder.glob(f"*/{TASK_FILE}")) if folder.is_dir() else []:
        try:
            rows.append(_row(load_task(path.parent), str(path.parent)))
        except TaskError as exc:
            rows.append(TaskRow(path.parent.name, "?", f"does not load: {exc}", str(path.parent)))
    return rows


def _project(project: Path | None) -> Path:
    """The project folder (default: the current one), which must exist."""
    folder = project if project is not None else Path.cwd()
    if not folder.is_dir():
        raise TaskError(f"{folder}: no such project folder")
    return folder


def _row(task: Task, where: str) -> TaskRow:
    return TaskRow(task.name, task.language, task.spec.summary, where)


def sample_variables(task: Task) -> dict[str, Any]:
    """The sample item prompts are shown with: the task's judge worked example, its starting
    principle sets, and fixed values for the rest."""
    example = task.spec.judge.example
    detector = list(load_principles(task.principles_ref("detector")).rules)
    generator = list(load_principles(task.principles_ref("generator")).rules)
    return {**SAMPLE, "query": example.query, "response": example.response,
            "pros": list(example.pros), "cons": list(example.cons), "principles": detector,
            "strategies": generator, "exemplars": [task.spec.advocate.example.response],
            "initial_verdict": example.verdict, "initial_reason": example.reason,
            "text": example.response}


def render_roles(task: Task, role: str | None = None) -> list[tuple[str, str, str]]:
    """(role, template file, prompt text) for every role, or for `role` only.

    Raises:
        TaskError: an unknown role (naming the known ones).
    """
    if role is not None and role not in ROLES:
        raise TaskError(f"--role {role!r}: no such role (roles: {', '.join(ROLES)})")
    prompts = task.prompts()
    values = sample_variables(task)
    out = []
    for name, template in ROLES.items():
        if role is None or role == name:
            rendered = prompts.render(template, **values)
            out.append((name, rendered.template, rendered.text))
    return out


def new_task(name: str, source: str, language: str | None = None,
             project: Path | None = None) -> tuple[Path, list[str]]:
    """Copy task `source` into ./tasks/NAME (never over an existing folder), its name set to
    NAME and, given `language`, its language field changed.

    Returns:
        (the new folder, the languages the built-in templates are written in).

    Raises:
        TaskError: a bad name, a folder that exists, a source that does not load.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", name):
        raise TaskError(f"task name {name!r}: lower case letters, digits, '.', '_' and '-' "
                        "(at most 64, starting with a letter or digit)")
    if language is not None and not re.fullmatch(r"[a-z]{2,3}", language):
        raise TaskError(f"--language {language!r}: an ISO 639 code such as en or zh")
    target = _project(project) / PROJECT_TASKS / name
    if target.exists():
        raise TaskError(f"{target}: already exists; nothing was written (pick another name or "
                        "edit that folder)")
    origin = resolve_task(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(origin.folder, target)
    path = target / TASK_FILE
    text = _set_field(path.read_text("utf-8"), "name", name)
    if language is not None:
        text = _set_field(text, "language", language)
    path.write_text(text, encoding="utf-8")
    return target, builtin_languages(PROMPTS_DIR)


def _set_field(text: str, field: str, value: str) -> str:
    """task.yaml's top-level `field: ...` line set to `value` (the rest kept byte for byte)."""
    pattern = re.compile(rf"^{field}:.*$", re.MULTILINE)
    if not pattern.search(text):
        return f"{field}: {value}\n" + text
    return pattern.sub(f"{field}: {value}", text, count=1)
