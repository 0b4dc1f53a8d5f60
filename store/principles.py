"""Principle versions: immutable rows of rules (S_D, S_G, judge rules); register, resolve, activate."""

from __future__ import annotations

from sqlalchemy import select

from agents.templates import PrincipleSet, load_principles
from store.db import Store
from store.models import PrincipleVersion, text_hash
from store.upsert import insert_ignore


class PrincipleNotFound(LookupError):
    """No principle version matches the reference given."""


def register_version(
    store: Store, *, kind: str, name: str, text: str, origin: str,
    parent_id: int | None = None, run_id: int | None = None, iteration: int | None = None,
    feedback: str | None = None, metrics: dict | None = None,
) -> int:
    """The id of the version of `kind` with this text; created (immutable) if it is new."""
    digest = text_hash(text)
    with store.session() as s:
        insert_ignore(s, PrincipleVersion, [{
            "kind": kind, "name": name, "text": text, "text_hash": digest, "origin": origin,
            "parent_id": parent_id, "run_id": run_id, "iteration": iteration,
            "feedback": feedback, "metrics": metrics or {},
        }])
        return s.scalars(select(PrincipleVersion.id).where(
            PrincipleVersion.kind == kind, PrincipleVersion.text_hash == digest)).one()


def register_file(store: Store, name_or_path: str) -> tuple[int, PrincipleSet]:
    """Register a principle set from `prompts/principles/<name>.yaml` or a YAML path (origin file)."""
    pset = load_principles(name_or_path)
    vid = register_version(store, kind=pset.kind, name=pset.name, text=pset.text, origin="file")
    return vid, pset


def resolve_version(store: Store, ref: str | None, kind: str, default: str) -> PrincipleVersion:
    """A version by id ("12"), by principle-set name or YAML path (registered from the file), or,
    when `ref` is None, the active version of `kind`, else the registered file `default`.

    Raises:
        PrincipleNotFound: an id that does not exist, or a version of another kind.
    """
    if ref is None:
        with store.session() as s:
            active = s.scalars(select(PrincipleVersion).where(
                PrincipleVersion.kind == kind, PrincipleVersion.active.is_(True))).first()
        if active is not None:
            return active
        ref = default
    if ref.isdigit():
        with store.session() as s:
            found = s.get(PrincipleVersion, int(ref))
        if found is None:
            raise PrincipleNotFound(f"principle version {ref} does not exist")
    else:
        vid, _ = register_file(store, ref)
        with store.session() as s:
            found = s.get(PrincipleVersion, vid)
        assert found is not None
    if found.kind != kind:
        raise PrincipleNotFound(f"principle version {found.id} is a {found.kind} set, not {kind}")
    return found


def rules_of(version: PrincipleVersion) -> list[str]:
    """The rules of a version, one per line of its text."""
    return [line for line in version.text.splitlines() if line.strip()]
