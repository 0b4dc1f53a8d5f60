"""Which task a principle version belongs to, and the check that a run uses its own task's.

A version records the name of the task it was made under (`principle_versions.task`). Versions
stored before tasks were recorded have NULL there, read as `LEGACY_TASK` (greetings-zh): the
paper's task was the only one then. "Active" is per kind and task: each task has at most one
active version of each kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kindling.store.errors import UserError
from kindling.store.models import PrincipleVersion
from sqlalchemy import or_

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

LEGACY_TASK = "greetings-zh"
"""The task of a version whose `task` is NULL (stored before migration 0004)."""
FORCE_HINT = "give --force-task (force_task: true in a config) to use it anyway"


class PrincipleNotFound(UserError, LookupError):
    """No principle version matches the reference given."""


class PrincipleTaskMismatch(PrincipleNotFound):
    """The version was made under another task than the run's (and force_task is off); a
    PrincipleNotFound, so every command that reports a bad principle reference reports it."""


def check_task(version: PrincipleVersion, task: str, force: bool) -> None:
    """Refuse a version of another task than the run's, unless `force`.

    Raises:
        PrincipleTaskMismatch: one line naming both tasks and --force-task.
    """
    if not force and (problem := task_mismatch(version, task)) is not None:
        raise PrincipleTaskMismatch(problem)


def version_task(version: PrincipleVersion) -> str:
    """The name of the task a version was made under (NULL: greetings-zh)."""
    return version.task or LEGACY_TASK


def of_task(task: str) -> ColumnElement[bool]:
    """The SQL condition "a version of `task`" (NULL counts as greetings-zh)."""
    if task == LEGACY_TASK:
        return or_(PrincipleVersion.task == task, PrincipleVersion.task.is_(None))
    return PrincipleVersion.task == task


def task_mismatch(version: PrincipleVersion, task: str) -> str | None:
    """One line saying a version belongs to another task than the run's, else None."""
    made = version_task(version)
    if made == task:
        return None
    return made_under(f"principle version {version.id} ({version.kind}) was", made, task)


def made_under(what: str, made: str, task: str) -> str:
    """"<what> made under task <made>, but this run's task is <task>; give --force-task ..."."""
    return f"{what} made under task {made}, but this run's task is {task}; {FORCE_HINT}"


def forced_record(version: PrincipleVersion, task: str) -> dict[str, Any]:
    """What a run config records when it uses a version of another task (force_task)."""
    return {"version": version.id, "kind": version.kind, "version_task": version_task(version),
            "run_task": task}
