"""Choosing and activating principle versions: the best-validated version of a kind, the doubts
that gate its activation, and the versions `diff --best` compares. `kindling principles`, the
adversarial command and the experiment's Path B step call these, so the rule is written once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kindling.store.errors import UserError

if TYPE_CHECKING:
    from kindling.store.db import Store
    from kindling.store.models import PrincipleVersion


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
