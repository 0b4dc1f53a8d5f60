"""Choosing, activating, importing and editing principle versions: the best-validated version of
a kind, the doubts that gate its activation, the versions `diff --best` compares, and the checks
an imported or edited YAML file passes before it is stored. `kindling principles` and the
adversarial command call these; the commands only parse, run the editor and print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kindling.store.errors import UserError

if TYPE_CHECKING:
    from pathlib import Path

    from kindling.agents.task import Task
    from kindling.store.db import Store
    from kindling.store.models import PrincipleVersion
    from kindling.store.principle_io import PrincipleSet


class NoValidatedVersion(UserError):
    """No version of the kind asked for (in the run or task asked for) has validation metrics."""


class ActivationRefused(UserError):
    """The best version is no better than where Path B started or than the length-only rule,
    and activating it anyway was not asked for."""


@dataclass(frozen=True)
class Activation:
    """A version chosen for activation, what speaks against it, and whether it is now active."""

    version: PrincipleVersion
    doubts: list[str]
    activated: bool


def _where(run: int | None, task: str | None) -> str:
    return (f" in run {run}" if run is not None else "") + (
        f" of task {task}" if task is not None else "")


def best_validated(store: Store, kind: str = "detector", run: int | None = None,
                   task: str | None = None, *, wanted: str = "a validation F1 metric"
                   ) -> PrincipleVersion:
    """The version of `kind` with the best validation F1 (see `store.principles.best_version`).

    Raises:
        NoValidatedVersion: none has one (the message says `no KIND version... has WANTED`).
    """
    from kindling.store.principles import best_version

    chosen = best_version(store, kind, run, task)
    if chosen is None:
        raise NoValidatedVersion(f"no {kind} version{_where(run, task)} has {wanted}")
    return chosen


def activate_best(store: Store, kind: str = "detector", run: int | None = None,
                  task: str | None = None, *, force: bool = False) -> Activation:
    """Activate the best-validated version of `kind` for its task, unless it gives doubts.

    Raises:
        NoValidatedVersion: there is no validated version to choose.
        ActivationRefused: it has doubts and `force` is off (nothing changed).
    """
    from kindling.store.principles import activate, activation_doubts

    chosen = best_validated(store, kind, run, task)
    doubts = activation_doubts(store, chosen)
    if doubts and not force:
        raise ActivationRefused(f"not activated: the best {chosen.kind} version is {chosen.id}, "
                                "but " + "; ".join(doubts) + " (give --force to activate it anyway)")
    return Activation(activate(store, chosen.id), doubts, activated=True)


def activate_if_sound(store: Store, version_id: int) -> Activation:
    """Activate `version_id` when nothing speaks against it; otherwise leave the active version
    as it is (what the adversarial command does with the best S_D it found)."""
    from kindling.store.principles import activate, activation_doubts, get_version

    version = get_version(store, version_id)
    doubts = activation_doubts(store, version)
    if doubts:
        return Activation(version, doubts, activated=False)
    return Activation(activate(store, version_id), [], activated=True)


def best_against_start(store: Store, kind: str = "detector", run: int | None = None
                       ) -> tuple[PrincipleVersion, PrincipleVersion]:
    """The version its lineage started from and the best-validated version of `kind`.

    Raises:
        NoValidatedVersion: none of `kind` has validation metrics.
    """
    from kindling.store.principles import lineage

    chosen = best_validated(store, kind, run, wanted="validation metrics")
    return lineage(store, chosen.id)[-1], chosen


class EditRefused(UserError):
    """An edited principle file that cannot become a new version (the edit is kept)."""


def loaded_task(name: str) -> Task | None:
    """The task of this name if it loads here (a built-in one, ./tasks/NAME), else None."""
    from kindling.agents.task import TaskError, resolve_task

    try:
        return resolve_task(name)
    except TaskError:
        return None


def version_yaml(version: PrincipleVersion) -> str:
    """A version as YAML, with its task's language (left out when the task does not load here)."""
    from kindling.store.principle_io import to_yaml
    from kindling.store.principle_tasks import version_task

    task = loaded_task(version_task(version))
    return to_yaml(version, task.language if task is not None else None)


def import_task(draft: PrincipleSet, given: str | None) -> tuple[str, str | None]:
    """The task a file is imported under (--task, else the file's task:, else greetings-zh) and
    that task's hash when it loads here.

    Raises:
        PrincipleFormatError: the file names another task than --task, or its language is not
            the task's.
    """
    from kindling.store.principle_io import PrincipleFormatError
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


@dataclass(frozen=True)
class Stored:
    """A principle set stored as a version of `task` (or found already stored)."""

    draft: PrincipleSet
    version_id: int
    created: bool
    task: str


def store_draft(store: Store, draft: PrincipleSet, parent_id: int | None, feedback: str,
                task: str, task_hash: str | None) -> Stored:
    """Store `draft` as a manual version (the same rules of the same task are stored once)."""
    from kindling.store.principles import add_version

    vid, created = add_version(store, kind=draft.kind, name=draft.name, text=draft.text,
                               origin="manual", parent_id=parent_id, feedback=feedback,
                               task=task, task_hash=task_hash)
    return Stored(draft, vid, created, task)


def import_principles(store: Store, path: Path, name: str | None, parent: int | None,
                      task: str | None) -> Stored:
    """Store a principle YAML file as a new version (see `import_task` for its task).

    Raises:
        PrincipleFormatError: the file is not a principle set, or its task or language do not fit.
        PrincipleNotFound: `parent` names no version.
        EditRefused: `parent` is of another kind.
    """
    from kindling.store.principle_io import from_yaml_text, read_principle_file
    from kindling.store.principles import get_version

    draft = from_yaml_text(read_principle_file(path), str(path), name=name,
                           default_name=path.stem)
    under, task_hash = import_task(draft, task)
    if parent is not None and get_version(store, parent).kind != draft.kind:
        raise EditRefused(f"--parent {parent} is not a {draft.kind} version")
    return store_draft(store, draft, parent, feedback=f"imported from {path.name}", task=under,
                       task_hash=task_hash)


def edited_draft(version: PrincipleVersion, edited: Path) -> PrincipleSet | None:
    """The principle set in `edited`, an edit of `version`; None when its rules did not change.

    Raises:
        EditRefused: the file does not parse, or changes the version's kind or task (the
            message says the edit is kept in `edited`).
    """
    from kindling.store.principle_io import (
        PrincipleFormatError,
        from_yaml_text,
        read_principle_file,
    )
    from kindling.store.principle_tasks import version_task
    from kindling.store.principles import rules_of

    kept = f"nothing written; your edit is kept in {edited}"
    try:
        draft = from_yaml_text(read_principle_file(edited), str(edited), default_name=version.name)
    except PrincipleFormatError as exc:
        raise EditRefused(f"{exc}\n{kept}") from exc
    if draft.kind != version.kind:
        raise EditRefused(f"{edited}: field kind: cannot change from {version.kind} to "
                          f"{draft.kind} in edit (use import); {kept}")
    task = version_task(version)
    if draft.task is not None and draft.task != task:
        raise EditRefused(f"{edited}: field task: cannot change from {task} to {draft.task} in "
                          f"edit (export it and import it with --task); {kept}")
    if draft.text == "\n".join(rule.strip() for rule in rules_of(version)):
        return None
    return draft


def save_edit(store: Store, version: PrincipleVersion, edited: Path, *,
              activate_new: bool = False) -> Stored | None:
    """`edited`, an edit of `version`, stored as its child (same kind and task) and made active
    for its task when asked; None when its rules did not change (nothing written).

    Raises:
        EditRefused: see `edited_draft` (the edit is kept in `edited`).
    """
    from kindling.store.principle_tasks import version_task
    from kindling.store.principles import activate

    draft = edited_draft(version, edited)
    if draft is None:
        return None
    stored = store_draft(store, draft, version.id, feedback=f"edited from version {version.id}",
                         task=version_task(version), task_hash=version.task_hash)
    if activate_new:
        activate(store, stored.version_id)
    return stored
