"""Principle versions for the studio: lineage trees, side-by-side diffs, manual edits."""

from __future__ import annotations

import difflib
from typing import Any

from kindling.store import principles as pv
from kindling.store.db import Store
from kindling.store.models import PrincipleVersion
from kindling.store.principle_tasks import version_task

MAX_TEXT = 50_000
"""Longest principle text the editor saves (characters)."""


def version_row(v: PrincipleVersion, *, text: bool = False) -> dict[str, Any]:
    """A version's fields, JSON-safe; the rules' text only when asked."""
    row = {"id": v.id, "kind": v.kind, "name": v.name, "parent_id": v.parent_id,
           "origin": v.origin, "run_id": v.run_id, "iteration": v.iteration,
           "metrics": v.metrics or {}, "active": v.active, "feedback": v.feedback,
           "created_at": v.created_at.isoformat(timespec="seconds"),
           "f1": pv.metric(v, "f1"), "accuracy": pv.metric(v, "accuracy"),
           "baseline_f1": _baseline(v, "f1"), "baseline_accuracy": _baseline(v, "accuracy")}
    if text:
        row["text"] = v.text
    return row


def _baseline(v: PrincipleVersion, name: str) -> float | None:
    base = (v.metrics or {}).get("length_baseline")
    value = base.get(name) if isinstance(base, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def lineage_forest(store: Store, kind: str | None) -> list[dict[str, Any]]:
    """Versions as trees by parent: [{"version": row, "children": [...]}, ...], oldest first.

    A version whose parent is of another kind (or missing) is a root.
    """
    versions = pv.list_versions(store, kind)
    children: dict[int, list[dict[str, Any]]] = {v.id: [] for v in versions}
    nodes = {v.id: {"version": version_row(v), "children": children[v.id]} for v in versions}
    roots: list[dict[str, Any]] = []
    for v in versions:
        siblings = children.get(v.parent_id, roots) if v.parent_id is not None else roots
        siblings.append(nodes[v.id])
    return roots


def flatten(forest: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
    """The forest as rows in tree order, each with its depth (for an indented table)."""
    rows: list[dict[str, Any]] = []
    for node in forest:
        rows.append({**node["version"], "depth": depth})
        rows += flatten(node["children"], depth + 1)
    return rows


def side_by_side(a: PrincipleVersion, b: PrincipleVersion) -> list[dict[str, Any]]:
    """Rule-by-rule rows {tag, left, right}: tag is equal, replace, delete or insert."""
    left, right = pv.rules_of(a), pv.rules_of(b)
    rows: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = left[i1:i2], right[j1:j2]
        for k in range(max(len(old), len(new))):
            rows.append({"tag": tag, "left": old[k] if k < len(old) else None,
                         "right": new[k] if k < len(new) else None})
    return rows


def save_edit(store: Store, parent_id: int, text: str, name: str | None,
              feedback: str | None) -> tuple[PrincipleVersion, bool]:
    """Save edited rules as a new manual version whose parent is the edited one.

    Returns:
        (the version, created): `created` is False when a version of that kind and task
        already holds exactly this text (versions are immutable and unique per kind, task and
        text). The new version keeps the edited one's task.

    Raises:
        PrincipleNotFound: the parent does not exist.
    """
    parent = pv.get_version(store, parent_id)
    vid, created = pv.add_version(store, kind=parent.kind, name=name or f"{parent.name[:191]} (edited)",
                                  text=text, origin="manual", parent_id=parent.id,
                                  feedback=feedback, task=version_task(parent),
                                  task_hash=parent.task_hash)
    return pv.get_version(store, vid), created
