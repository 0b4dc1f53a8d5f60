"""Principle versions: immutable rows of rules (S_D, S_G, Path A's debate_judge rules); register,
resolve, activate."""

from __future__ import annotations

import difflib
import math
from typing import Any

from kindling.store.db import Store, id_fits
from kindling.store.models import PrincipleVersion, text_hash
from kindling.store.principle_io import PrincipleSet, load_principles
from kindling.store.principle_tasks import (
    LEGACY_TASK,
    PrincipleNotFound,
    PrincipleTaskMismatch,
    check_task,
    made_under,
    of_task,
    version_task,
)
from kindling.store.refs import no_version_message
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite


def register_version(
    store: Store, *, kind: str, name: str, text: str, origin: str,
    parent_id: int | None = None, run_id: int | None = None, iteration: int | None = None,
    feedback: str | None = None, metrics: dict | None = None,
    task: str = LEGACY_TASK, task_hash: str | None = None,
) -> int:
    """The id of the version of `kind` with this text under `task`; created (immutable) if new."""
    vid, _ = add_version(store, kind=kind, name=name, text=text, origin=origin,
                         parent_id=parent_id, run_id=run_id, iteration=iteration,
                         feedback=feedback, metrics=metrics, task=task, task_hash=task_hash)
    return vid


def add_version(
    store: Store, *, kind: str, name: str, text: str, origin: str,
    parent_id: int | None = None, run_id: int | None = None, iteration: int | None = None,
    feedback: str | None = None, metrics: dict | None = None,
    task: str = LEGACY_TASK, task_hash: str | None = None,
) -> tuple[int, bool]:
    """Like `register_version`, and also says whether the row was created now.

    Returns:
        (id, created): `created` is False when a version of `kind` with this exact text already
        existed under `task` (a version from before tasks were recorded counts as greetings-zh's);
        that row is returned unchanged (versions are immutable).
    """
    digest = text_hash(text)
    row = {
        "kind": kind, "name": name, "text": text, "text_hash": digest, "origin": origin,
        "parent_id": parent_id, "run_id": run_id, "iteration": iteration,
        "feedback": feedback, "metrics": metrics or {}, "task": task, "task_hash": task_hash,
    }
    existing = (select(PrincipleVersion.id).where(
        PrincipleVersion.kind == kind, PrincipleVersion.text_hash == digest, of_task(task))
        .order_by(PrincipleVersion.id))
    with store.session() as s:
        if (found := s.scalars(existing).first()) is not None:
            return found, False
        dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
        stmt = (dialect.insert(PrincipleVersion).values(**row)
                .on_conflict_do_nothing().returning(PrincipleVersion.id))
        created = s.scalars(stmt).first()
        if created is not None:
            return created, True
        return s.scalars(existing).first(), False


def resolve_version(store: Store, ref: str | None, kind: str, default: str, *,
                    task: str = LEGACY_TASK, task_hash: str | None = None,
                    force: bool = False) -> PrincipleVersion:
    """A version by id ("12"), by principle-set name or YAML path (registered from the file under
    the file's `task:`, else `task`, once its kind and task are checked), or, when `ref` is None, the active version of
    `kind` for `task`, else the registered file `default`.

    Raises:
        PrincipleNotFound: an id that does not exist, or a version or file of another kind.
        PrincipleTaskMismatch: a version (or a file naming a task) of another task than `task`,
            unless `force`.
        PrincipleFormatError: no such name or file, or a bad file.
    """
    if ref is None:
        active = active_version(store, kind, task)
        if active is not None:
            return active
        ref = default
    if ref.isdigit():
        found = get_version(store, int(ref))
        _check_kind(found.kind, kind, f"principle version {found.id}")
        check_task(found, task, force)
        return found
    pset = load_principles(ref)  # checked before it is registered: a refused file writes nothing
    _check_kind(pset.kind, kind, pset.source or ref)
    if not force and pset.task is not None and pset.task != task:
        raise PrincipleTaskMismatch(made_under(f"{pset.source or ref}:", pset.task, task))
    under = pset.task or task
    return get_version(store, register_version(
        store, kind=pset.kind, name=pset.name, text=pset.text, origin="file", task=under,
        task_hash=task_hash if under == task else None))


def _check_kind(found: str, kind: str, what: str) -> None:
    if found != kind:
        raise PrincipleNotFound(f"{what} is a {found} set, not {kind}")


def as_principle_set(version: PrincipleVersion) -> PrincipleSet:
    """A version's rules as the set a prompt reads (its source names the version)."""
    return PrincipleSet(version.name, version.kind, tuple(rules_of(version)),
                        source=f"principle version {version.id}", task=version_task(version))


def rules_of(version: PrincipleVersion) -> list[str]:
    """The rules of a version, one per line of its text."""
    return [line for line in version.text.splitlines() if line.strip()]


def list_versions(store: Store, kind: str | None = None, run_id: int | None = None,
                  task: str | None = None) -> list[PrincipleVersion]:
    """Versions, oldest first, optionally only of one kind, one run and/or one task."""
    stmt = select(PrincipleVersion).order_by(PrincipleVersion.id)
    if task is not None:
        stmt = stmt.where(of_task(task))
    if kind is not None:
        stmt = stmt.where(PrincipleVersion.kind == kind)
    if run_id is not None:
        stmt = stmt.where(PrincipleVersion.run_id == run_id)
    with store.session() as s:
        return list(s.scalars(stmt).all())


def get_version(store: Store, version_id: int) -> PrincipleVersion:
    """One version by id.

    Raises:
        PrincipleNotFound: no version has this id.
    """
    _check_fits(store, version_id)
    with store.session() as s:
        found = s.get(PrincipleVersion, version_id)
    if found is None:
        raise PrincipleNotFound(no_version_message(store, version_id))
    return found


def _check_fits(store: Store, version_id: int) -> None:
    """An id no version can have (negative, beyond the id column) is not sent to the database.

    Raises:
        PrincipleNotFound: the id is out of the store's range.
    """
    if not id_fits(version_id, store.dialect):
        raise PrincipleNotFound(no_version_message(store, version_id))


def lineage(store: Store, version_id: int) -> list[PrincipleVersion]:
    """The version and its ancestors, newest first: [version, parent, grandparent, ...].

    Raises:
        PrincipleNotFound: no version has this id.
    """
    _check_fits(store, version_id)
    chain: list[PrincipleVersion] = []
    seen: set[int] = set()
    current: int | None = version_id
    with store.session() as s:
        while current is not None and current not in seen:
            found = s.get(PrincipleVersion, current)
            if found is None:
                break
            chain.append(found)
            seen.add(current)
            current = found.parent_id
    if not chain:
        raise PrincipleNotFound(no_version_message(store, version_id))
    return chain


def activate(store: Store, version_id: int) -> PrincipleVersion:
    """Make this version the one active version of its kind for its task, in one transaction
    (the versions of that kind under other tasks keep their own active version).

    The kind's rows are locked first (FOR UPDATE on PostgreSQL), so concurrent activations of the
    same kind serialize and exactly one version stays active.

    Raises:
        PrincipleNotFound: no version has this id.
    """
    _check_fits(store, version_id)
    with store.session() as s:
        target = s.get(PrincipleVersion, version_id)
        if target is None:
            raise PrincipleNotFound(no_version_message(store, version_id, s))
        # lock the kind's rows in id order: concurrent activations queue instead of deadlocking
        s.scalars(select(PrincipleVersion.id).where(PrincipleVersion.kind == target.kind)
                  .order_by(PrincipleVersion.id).with_for_update()).all()
        s.execute(update(PrincipleVersion)
                  .where(PrincipleVersion.kind == target.kind, PrincipleVersion.id != version_id,
                         of_task(version_task(target)))
                  .values(active=False))
        s.execute(update(PrincipleVersion).where(PrincipleVersion.id == version_id)
                  .values(active=True))
        s.flush()
        s.refresh(target)
        return target


def set_metrics(store: Store, version_id: int, metrics: dict[str, Any]) -> None:
    """Record a version's validation metrics (replacing earlier ones); its rules never change.

    Raises:
        PrincipleNotFound: no version has this id.
    """
    _check_fits(store, version_id)
    with store.session() as s:
        if s.get(PrincipleVersion, version_id) is None:
            raise PrincipleNotFound(no_version_message(store, version_id, s))
        s.execute(update(PrincipleVersion).where(PrincipleVersion.id == version_id)
                  .values(metrics=metrics))


def active_version(store: Store, kind: str, task: str = LEGACY_TASK) -> PrincipleVersion | None:
    """The active version of `kind` for `task`, if any."""
    with store.session() as s:
        return s.scalars(select(PrincipleVersion).where(
            PrincipleVersion.kind == kind, PrincipleVersion.active.is_(True), of_task(task))
            .order_by(PrincipleVersion.id.desc())).first()


def metric(version: PrincipleVersion, name: str) -> float | None:
    """A finite numeric validation metric of the version (e.g. "f1"), else None."""
    value: Any = (version.metrics or {}).get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def best_version(store: Store, kind: str = "detector", run_id: int | None = None,
                 task: str | None = None) -> PrincipleVersion | None:
    """The version of `kind` (optionally of one run, one task) with the highest validation F1.

    Ties go to the higher accuracy, then to the earliest version (it reached the score first).
    Versions without a numeric `f1` metric are not candidates; None when none has one.
    """
    scored = [(f1, v) for v in list_versions(store, kind, run_id, task)
              if (f1 := metric(v, "f1")) is not None]
    if not scored:
        return None
    return max(scored, key=lambda fv: (fv[0], metric(fv[1], "accuracy") or 0.0, -fv[1].id))[1]


def activation_doubts(store: Store, version: PrincipleVersion) -> list[str]:
    """Why activating `version` as the judge may not help, plainly (empty: no doubt).

    Compared with its starting version (the oldest validated ancestor: what Path B started from)
    and with the length-only rule on the same validation items.
    """
    f1 = metric(version, "f1")
    if f1 is None:
        return [f"version {version.id} has no validation F1"]
    doubts: list[str] = []
    start = [v for v in lineage(store, version.id) if metric(v, "f1") is not None][-1]
    if start.id == version.id and version.parent_id is None:
        doubts.append(f"version {version.id} is a starting version: no revision of it did "
                      "better on validation")
    elif f1 <= (start_f1 := metric(start, "f1") or 0.0):
        doubts.append(f"version {version.id} (F1 {f1:.3f}) is no better than its starting "
                      f"version {start.id} (F1 {start_f1:.3f})")
    baseline = (version.metrics or {}).get("length_baseline") or {}
    base_f1 = baseline.get("f1")
    if isinstance(base_f1, int | float) and f1 <= base_f1:
        doubts.append(f"version {version.id} (F1 {f1:.3f}) is no better than the length-only rule "
                      f"on the same validation items (F1 {base_f1:.3f})")
    return doubts


def versions_diff(a: PrincipleVersion, b: PrincipleVersion, context: int = 3) -> list[str]:
    """Unified diff (one rule per line) from version `a` to version `b`, as lines without newlines."""
    return list(difflib.unified_diff(
        rules_of(a), rules_of(b), fromfile=f"{a.id} {a.name}", tofile=f"{b.id} {b.name}",
        n=context, lineterm=""))
