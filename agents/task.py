"""Tasks: what is written and how it is judged, as a folder (`task.yaml` + optional
`templates/<name>.jinja` overrides). Built-in tasks live in `prompts/tasks/<name>/`.

`load_task(ref)` reads and checks a task before any LLM call: the YAML strictly (errors name file,
line and field), its principle sets, and every template each role renders (an undefined
variable names the template file and the variable). `task_prompts(ref)` is the prompt library
every agent renders with.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from kindling.agents.config import did_you_mean, error_line
from kindling.agents.task_spec import TaskSpec
from kindling.agents.task_templates import check_templates
from kindling.agents.templates import PromptError, PromptLibrary, PromptOrder
from kindling.prompts import PROMPTS_DIR
from kindling.store.bounded import MAX_CONFIG_BYTES, named, read_bounded
from kindling.store.errors import UserError
from kindling.store.principle_io import load_principles
from kindling.store.text_checks import check_valid_text
from kindling.store.yaml_io import describe_yaml_error, read_yaml_text
from kindling.store.yaml_lines import DuplicateKey, line_of, node_lines
from pydantic import ValidationError

TASKS_DIR = PROMPTS_DIR / "tasks"
DEFAULT_TASK = "greetings-zh"
TASK_FILE = "task.yaml"
OVERRIDES = "templates"
PROJECT_TASKS = "tasks"
"""The folder of a project's own tasks (`kindling task new` writes ./tasks/NAME); a bare name
that is not a built-in task is looked up there, in the current folder."""


class TaskError(PromptError):
    """A task that cannot be used; the message names the file (and line and field)."""


@dataclass(frozen=True)
class Task:
    """A loaded, checked task.

    spec: task.yaml's fields. folder: the task's folder (absolute). content_hash: SHA-256 over
    task.yaml and every override template (names and bytes), stable across machines.
    """

    spec: TaskSpec
    folder: Path
    content_hash: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def language(self) -> str:
        return self.spec.language

    @property
    def length_unit(self) -> Literal["chars", "words"]:
        return self.spec.length_unit

    @property
    def file(self) -> Path:
        return self.folder / TASK_FILE

    def prompts(self, root: Path = PROMPTS_DIR, order: PromptOrder = "paper") -> PromptLibrary:
        """The prompt library of this task: `<folder>/templates/<name>.jinja` where it exists,
        else the built-in `<root>/<name>.<language>.jinja` (its sections in `order`), each with
        the task's fields as `task`."""
        return PromptLibrary(root, self.language, overrides=self.folder / OVERRIDES,
                             override_prefix=f"tasks/{self.name}/{OVERRIDES}/",
                             variables={"task": self.spec}, order=order)

    def principles_ref(self, kind: Literal["generator", "detector", "debate_judge"]) -> str:
        """The starting principle set of `kind` as `load_principles` takes it: a path when the
        task names a file in its folder, else the name of a set under prompts/principles/."""
        ref = getattr(self.spec.principles, kind)
        local = self.folder / ref
        return str(local) if local.is_file() else ref


def builtin_tasks() -> list[str]:
    """The names of the tasks that ship with Kindling (folders under prompts/tasks/)."""
    return sorted(p.parent.name for p in TASKS_DIR.glob(f"*/{TASK_FILE}"))


def task_prompts(ref: str | Path | None = None) -> PromptLibrary:
    """The prompt library of task `ref` (default: greetings-zh); what every agent renders with.

    A built-in task is read and checked once a process (it ships with Kindling); a folder is
    read and checked again when its files changed (`resolve_task`).

    Raises:
        TaskError: as `load_task`.
    """
    return resolve_task(ref).prompts()


@functools.cache
def _builtin_task(name: str) -> Task:
    return load_task(name)


def load_task(ref: str | Path, root: Path = PROMPTS_DIR) -> Task:
    """Read and check a task: a built-in name (`greetings-zh`) or a folder holding task.yaml.

    A name without a path separator that names a built-in task is that task; anything else is a
    folder (or its task.yaml).

    Raises:
        TaskError: no such task or folder; task.yaml unreadable, not YAML, with an unknown,
            repeated or missing key or a bad value (naming file, line and field); a principle
            set that cannot be read or is of the wrong kind; a template that is missing, not
            valid Jinja, or uses a variable its role is not given (naming the file and variable);
            an override for a template that does not exist.
    """
    folder = _task_folder(ref)
    path = folder / TASK_FILE
    text = read_yaml_text(path, "task", TaskError)
    data, lines = _parse(path, text)
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise TaskError("; ".join(
            error_line(TaskSpec, e, f"{path}:{line_of(lines, e['loc'])}", ())
            for e in exc.errors())) from exc
    task = Task(spec, folder, _content_hash(text, folder / OVERRIDES))
    _check_principles(task, lines)
    try:
        check_templates(task.prompts(root), root, where=f"{path}:{lines[('language',)]}")
    except PromptError as exc:
        raise TaskError(str(exc)) from exc
    return task


def resolve_task(ref: str | Path | None = None) -> Task:
    """`load_task`, once a process for the same files: a built-in task once, a folder again only
    when task.yaml or an override changed (the content hash is the key)."""
    ref = DEFAULT_TASK if ref is None else ref
    if isinstance(ref, str) and ref in builtin_tasks():
        return _builtin_task(ref)
    folder = _task_folder(ref)
    text = read_yaml_text(folder / TASK_FILE, "task", TaskError)
    key = (str(folder), _content_hash(text, folder / OVERRIDES))
    if key not in _LOADED:
        _LOADED[key] = load_task(folder)
    return _LOADED[key]


_LOADED: dict[tuple[str, str], Task] = {}


def _task_folder(ref: str | Path) -> Path:
    text = str(ref)
    bare = isinstance(ref, str) and "/" not in text and "\\" not in text and text not in (".", "..")
    if bare and (TASKS_DIR / text / TASK_FILE).is_file():
        return TASKS_DIR / text
    if bare and (Path.cwd() / PROJECT_TASKS / text / TASK_FILE).is_file():
        return (Path.cwd() / PROJECT_TASKS / text).resolve()
    path = Path(ref).expanduser()
    if path.name == TASK_FILE and path.is_file():
        path = path.parent
    if path.is_dir():
        if not (path / TASK_FILE).exists():
            raise TaskError(f"{path}: no {TASK_FILE} in this folder (a task is a folder holding "
                            f"{TASK_FILE}; see docs/tasks.md)")
        return path.resolve()
    hint = did_you_mean(text, builtin_tasks())
    close = hint if hint.startswith(" (did you") else ""
    raise TaskError(f"task {text!r}: no such folder, and no such built-in task{close} (built-in: "
                    f"{', '.join(builtin_tasks())}; a project's own tasks are folders under "
                    f"./{PROJECT_TASKS}/, made with kindling task new)")


def _parse(path: Path, text: str) -> tuple[dict[str, Any], dict[tuple[str | int, ...], int]]:
    """task.yaml's mapping and the line of each key."""
    try:
        data = yaml.safe_load(text) or {}
        lines = node_lines(text)
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: not valid YAML: {describe_yaml_error(exc)}") from exc
    except DuplicateKey as exc:
        raise TaskError(f"{path}:{exc.line}: {exc}") from exc
    if not isinstance(data, dict):
        raise TaskError(f"{path}:1: top level must be a mapping of task fields (see docs/tasks.md)")
    check_valid_text(data, str(path), TaskError)
    return data, lines


def _content_hash(text: str, overrides: Path) -> str:
    digest = hashlib.sha256()
    digest.update(b"task.yaml\0" + text.encode("utf-8") + b"\0")
    if overrides.is_dir():
        for file in sorted(p for p in overrides.rglob("*.jinja") if p.is_file()):
            name = file.relative_to(overrides).as_posix()
            raw = read_bounded(file, MAX_CONFIG_BYTES, "prompt template", named(file, TaskError))
            digest.update(f"{OVERRIDES}/{name}\0".encode() + raw + b"\0")
    return digest.hexdigest()


def _principles_key(lines: dict[tuple[str | int, ...], int], kind: str) -> str:
    """The key task.yaml names the set of `kind` with: an older file names Path A's debate
    judge's set `judge`."""
    if kind == "debate_judge" and ("principles", kind) not in lines and ("principles", "judge") in lines:
        return "judge"
    return kind


def _check_principles(task: Task, lines: dict[tuple[str | int, ...], int]) -> None:
    for kind in ("generator", "detector", "debate_judge"):
        key = _principles_key(lines, kind)
        where = f"{task.file}:{line_of(lines, ('principles', key))}: field principles.{key}"
        try:
            found = load_principles(task.principles_ref(kind))
        except UserError as exc:
            raise TaskError(f"{where}: {exc}") from exc
        if found.kind != kind:
            raise TaskError(f"{where}: {found.source or found.name} is a {found.kind} set, "
                            f"not a {kind} set")
