"""`kindling principles export|import|edit`: principle versions as YAML files, with their task.

cli.py adds these commands to `kindling principles` (commands never import each other).

A version's YAML names its task and that task's language. `import` stores a file under `--task`,
else the file's `task:`, else greetings-zh, and refuses a file whose language is not the task's;
`edit` keeps the edited version's task (it cannot change, as its kind cannot).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kindling.context import console, fail
from kindling.options import TASK_OPTION
from kindling.outputs import check_output_file, write_text
from kindling.store.principle_io import (
    PrincipleFormatError,
    PrincipleSet,
    from_yaml_text,
    read_principle_file,
    to_yaml,
)

if TYPE_CHECKING:
    from kindling.agents.task import Task
    from kindling.store.db import Store
    from kindling.store.models import PrincipleVersion

EDIT_HEADER = (
    "# Edit the rules (one list item per rule) and save; quit without saving to cancel.\n"
    "# Saving a change stores a new version whose parent is version {id}; kind and task cannot "
    "change.\n"
)


def stored_version(store: Store, version_id: int) -> PrincipleVersion:
    """One version, or `error: ...` (exit 2) naming the store."""
    from kindling.store.principles import PrincipleNotFound, get_version

    try:
        return get_version(store, version_id)
    except PrincipleNotFound as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


def loaded_task(name: str) -> Task | None:
    """The task of this name if it loads here (a built-in one, ./tasks/NAME), else None."""
    from kindling.agents.task import TaskError, resolve_task

    try:
        return resolve_task(name)
    except TaskError:
        return None


def version_yaml(version: PrincipleVersion) -> str:
    """A version as YAML, with its task's language (left out when the task does not load here)."""
    from kindling.store.principle_tasks import version_task

    task = loaded_task(version_task(version))
    return to_yaml(version, task.language if task is not None else None)


def export(
    ctx: typer.Context,
    version_id: int = typer.Argument(..., help="Version id."),
    out: Path = typer.Option(..., "--out", help="YAML file to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the file if it exists."),
) -> None:
    """Write a version as YAML, with its task and language (loadable by `import`, `--principles`)."""
    from kindling.store.principles import rules_of

    check_output_file(out, overwrite=overwrite)
    v = stored_version(ctx.obj.open_store(writes=False), version_id)
    write_text(out, version_yaml(v))
    console.print(f"wrote version {v.id} ({len(rules_of(v))} rules) to {out}", highlight=False)


def _store_draft(store: Store, draft: PrincipleSet, parent_id: int | None, feedback: str,
                 task: str, task_hash: str | None) -> tuple[int, bool]:
    from kindling.store.principles import add_version

    vid, created = add_version(store, kind=draft.kind, name=draft.name, text=draft.text,
                               origin="manual", parent_id=parent_id, feedback=feedback,
                               task=task, task_hash=task_hash)
    if created:
        console.print(f"created {draft.kind} version {vid} for task {task} "
                      f"({len(draft.rules)} rules)", highlight=False)
    else:
        console.print(f"these rules already exist as {draft.kind} version {vid} of task {task}; "
                      "nothing written", highlight=False)
    return vid, created


def import_task(draft: PrincipleSet, given: str | None) -> tuple[str, str | None]:
    """The task a file is imported under (--task, else the file's task:, else greetings-zh) and
    that task's hash when it loads here.

    Raises:
        PrincipleFormatError: the file names another task than --task, or its language is not
            the task's.
    """
    from kindling.store.principle_tasks import LEGACY_TASK

    task = loaded_task(given) if given is not None else None
    name = task.name if task is not None else (draft.task or LEGACY_TASK)
    if task is not None and draft.task is not None and draft.task != task.name:
        raise PrincipleFormatError(
            f"{draft.source}: field task: {draft.task}, but --task is {task.name} (drop --task "
            "to import it under the file's task, or change the file's task field)")
    task = task or loaded_task(name)
    if task is not None and draft.language is not None and draft.language != task.language:
        raise PrincipleFormatError(
            f"{draft.source}: field language: {draft.language}, but task {task.name} is written "
            f"in {task.language} (import it under a task in {draft.language} with --task)")
    return name, task.content_hash if task is not None else None


def import_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="YAML file with name, kind and rules (and task, language)."),
    name: str = typer.Option(None, help="Name of the new version (default: the file's name field)."),
    parent: int = typer.Option(None, help="Record this version as the parent (same kind)."),
    task: str = TASK_OPTION,
) -> None:
    """Store a principle set from YAML as a new version (origin manual) of a task.

    The task is --task, else the file's task field, else greetings-zh; the file's language must
    be the task's."""
    try:
        text = read_principle_file(path)
        draft = from_yaml_text(text, str(path), name=name, default_name=path.stem)
        under, task_hash = import_task(draft, task)
    except PrincipleFormatError as exc:
        fail(str(exc))
        return
    store = ctx.obj.open_store()
    if parent is not None and stored_version(store, parent).kind != draft.kind:
        fail(f"--parent {parent} is not a {draft.kind} version")
    _store_draft(store, draft, parent, feedback=f"imported from {path.name}", task=under,
                 task_hash=task_hash)


def _editor_command() -> list[str]:
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    return shlex.split(editor)


def edit(
    ctx: typer.Context,
    version_id: int = typer.Argument(..., help="Version to start from (the new version's parent)."),
    activate_new: bool = typer.Option(False, "--activate", help="Also make the new version active (for its task)."),
) -> None:
    """Edit a version in $EDITOR (or $VISUAL, else vi); a change is stored as a new version.

    The new version has the edited one's kind and task."""
    from kindling.store.principle_tasks import version_task
    from kindling.store.principles import activate, rules_of

    store = ctx.obj.open_store()
    v = stored_version(store, version_id)
    handle, name = tempfile.mkstemp(prefix=f"kindling-principles-{v.id}-", suffix=".yaml")
    tmp = Path(name)
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        f.write(EDIT_HEADER.format(id=v.id) + version_yaml(v))
    try:
        code = subprocess.call([*_editor_command(), str(tmp)])
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"cannot start the editor ({exc}); set EDITOR")
        return
    if code != 0:
        tmp.unlink(missing_ok=True)
        fail(f"the editor exited with status {code}; nothing written")
    try:
        draft = from_yaml_text(read_principle_file(tmp), str(tmp), default_name=v.name)
    except PrincipleFormatError as exc:
        fail(f"{exc}\nnothing written; your edit is kept in {tmp}")
        return
    if draft.kind != v.kind:
        fail(f"{tmp}: field kind: cannot change from {v.kind} to {draft.kind} in edit "
             f"(use import); nothing written; your edit is kept in {tmp}")
    task = version_task(v)
    if draft.task is not None and draft.task != task:
        fail(f"{tmp}: field task: cannot change from {task} to {draft.task} in edit (export it "
             f"and import it with --task); nothing written; your edit is kept in {tmp}")
    tmp.unlink(missing_ok=True)
    if draft.text == "\n".join(rule.strip() for rule in rules_of(v)):
        console.print(f"no change to version {v.id}; nothing written", highlight=False)
        return
    new_id, _ = _store_draft(store, draft, v.id, feedback=f"edited from version {v.id}",
                             task=task, task_hash=v.task_hash)
    if activate_new:
        activate(store, new_id)
        console.print(f"activated {v.kind} version {new_id} for task {task}", highlight=False)
