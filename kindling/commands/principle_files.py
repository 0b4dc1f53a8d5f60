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

if TYPE_CHECKING:
    from kindling.services.principles import Stored

EDIT_HEADER = (
    "# Edit the rules (one list item per rule) and save; quit without saving to cancel.\n"
    "# Saving a change stores a new version whose parent is version {id}; kind and task cannot "
    "change.\n"
)


def export(
    ctx: typer.Context,
    version_id: int = typer.Argument(..., help="Version id."),
    out: Path = typer.Option(..., "--out", help="YAML file to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the file if it exists."),
) -> None:
    """Write a version as YAML, with its task and language (loadable by `import`, `--principles`)."""
    from kindling.services.principles import version_yaml
    from kindling.store.principles import get_version, rules_of

    check_output_file(out, overwrite=overwrite)
    v = get_version(ctx.obj.open_store(writes=False), version_id)
    write_text(out, version_yaml(v))
    console.print(f"wrote version {v.id} ({len(rules_of(v))} rules) to {out}", highlight=False)


def _say_stored(stored: Stored) -> None:
    draft = stored.draft
    if stored.created:
        console.print(f"created {draft.kind} version {stored.version_id} for task {stored.task} "
                      f"({len(draft.rules)} rules)", highlight=False)
    else:
        console.print(f"these rules already exist as {draft.kind} version {stored.version_id} of "
                      f"task {stored.task}; nothing written", highlight=False)


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
    from kindling.services.principles import import_principles

    _say_stored(import_principles(ctx.obj.open_store(), path, name, parent, task))


def _editor_command() -> list[str]:
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    return shlex.split(editor)


def _edit_in_editor(text: str, version_id: int) -> Path:
    """`text` in a temp file the user's editor has edited and saved (the caller removes it)."""
    handle, name = tempfile.mkstemp(prefix=f"kindling-principles-{version_id}-", suffix=".yaml")
    tmp = Path(name)
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        f.write(text)
    try:
        code = subprocess.call([*_editor_command(), str(tmp)])
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"cannot start the editor ({exc}); set EDITOR")
    if code != 0:
        tmp.unlink(missing_ok=True)
        fail(f"the editor exited with status {code}; nothing written")
    return tmp


def edit(
    ctx: typer.Context,
    version_id: int = typer.Argument(..., help="Version to start from (the new version's parent)."),
    activate_new: bool = typer.Option(False, "--activate", help="Also make the new version active (for its task)."),
) -> None:
    """Edit a version in $EDITOR (or $VISUAL, else vi); a change is stored as a new version.

    The new version has the edited one's kind and task."""
    from kindling.services.principles import save_edit, version_yaml
    from kindling.store.principles import get_version

    store = ctx.obj.open_store()
    v = get_version(store, version_id)
    tmp = _edit_in_editor(EDIT_HEADER.format(id=v.id) + version_yaml(v), v.id)
    stored = save_edit(store, v, tmp, activate_new=activate_new)  # a refused edit stays in tmp
    tmp.unlink(missing_ok=True)
    if stored is None:
        console.print(f"no change to version {v.id}; nothing written", highlight=False)
        return
    _say_stored(stored)
    if activate_new:
        console.print(f"activated {v.kind} version {stored.version_id} for task {stored.task}",
                      highlight=False)
