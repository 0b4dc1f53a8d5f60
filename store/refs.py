"""What to say when a run or a principle version asked for is not in the store.

Every "no such run" and "no such version" message is built here: it names the store that was
looked in (`places.store_place`) and, from that store, the nearest run names to a name given
(`grpo_rm` → "did you mean grpo-rm?"), or says that the store holds no runs yet.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from kindling.store.db import Store
from kindling.store.models import PrincipleVersion, Run
from kindling.store.places import store_place
from sqlalchemy import func, select
from sqlalchemy.orm import Session

SUGGESTED = 3
"""At most this many names are suggested."""
CUTOFF = 0.6
"""How alike (difflib's ratio, 0 to 1) a name must be to be suggested."""
NAMES_READ = 10_000
"""Run names compared at most (the newest): a lookup stays quick on a store of many runs."""


def as_run_id(ref: str) -> int | None:
    """A run reference read as an id: ASCII digits with an optional sign (`-3` is an id that
    no run has), else None (a name)."""
    digits = ref.removeprefix("-").removeprefix("+")
    if digits and digits.isascii() and digits.isdigit():
        return int(ref)
    return None


def is_id(ref: object) -> bool:
    """Whether a reference is a run id (an int, or what `as_run_id` reads as one)."""
    return isinstance(ref, int) or as_run_id(str(ref)) is not None


def normalised(name: str) -> str:
    """A name as names are compared: case, `_` and `-` and surrounding spaces do not count."""
    return name.strip().casefold().replace("_", "-")


def nearest(wanted: str, names: Iterable[str], limit: int = SUGGESTED) -> list[str]:
    """The names most like `wanted` (best first, each once), compared `normalised`; a name equal
    to `wanted` but for case, `_` and `-` is the one suggestion."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(normalised(name), name)  # the first (newest) spelling of a key wins
    key = normalised(wanted)
    if key in by_key:
        return [by_key[key]]
    return [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=limit, cutoff=CUTOFF)]


def run_names(store: Store, kinds: Sequence[str] = ()) -> list[str]:
    """The store's run names (of `kinds`, when given), newest first."""
    stmt = select(Run.name).where(Run.name.is_not(None)).order_by(Run.id.desc()).limit(NAMES_READ)
    if kinds:
        stmt = stmt.where(Run.kind.in_(kinds))
    with store.session() as s:
        return [name for name in s.scalars(stmt) if name]


def count_runs(store: Store, kinds: Sequence[str] = ()) -> int:
    """How many runs (of `kinds`, when given) the store holds."""
    stmt = select(func.count()).select_from(Run)
    if kinds:
        stmt = stmt.where(Run.kind.in_(kinds))
    with store.session() as s:
        return s.scalar(stmt) or 0


def no_run_message(store: Store | str | None, ref: object, *, kinds: Sequence[str] = (),
                   cli: bool = True) -> str:
    """'No such run' for a run given by id or name: the store looked in and, given an open
    store, the nearest run names there (of `kinds`, when given) or that it holds none yet.

    A URL instead of a store names the store only (nothing is read from it). `cli` False leaves
    out the command that lists runs (a web page links its runs list instead).
    """
    asked = f"no run with id {ref}" if is_id(ref) else f"no run named {str(ref)!r}"
    if store is None:
        return asked
    url = store if isinstance(store, str) else store.url
    message = f"{asked} in the store {store_place(url)}"
    if isinstance(store, str):
        return f"{message} (`kindling runs` lists its runs)"
    return message + _run_hint(store, ref, kinds, cli)


def _run_hint(store: Store, ref: object, kinds: Sequence[str], cli: bool) -> str:
    """'; did you mean X?', '; the store holds no runs yet', or (`cli`) where runs are listed."""
    what = f"{' or '.join(kinds)} runs" if kinds else "runs"
    if count_runs(store, kinds) == 0:
        return f"; the store holds no {what} yet"
    close = [] if is_id(ref) else nearest(str(ref), run_names(store, kinds))
    if close:
        return f"; did you mean {' or '.join(close)}?"
    if not cli:
        return ""
    listing = f"kindling runs --kind {kinds[0]}" if len(kinds) == 1 else "kindling runs"
    return f" (`{listing}` lists its {what})"


def no_version_message(store: Store, version_id: object, session: Session | None = None) -> str:
    """'No such principle version': the store looked in, and that it holds no versions yet, or
    the range of ids it holds (read in `session` when the caller holds one open)."""
    message = f"principle version {version_id} does not exist in the store {store_place(store.url)}"
    if session is None:
        with store.session() as s:
            low, high = _version_ids(s)
    else:
        low, high = _version_ids(session)
    if low is None:
        return f"{message}; the store holds no principle versions yet"
    return f"{message} (its versions have ids {low} to {high}: `kindling principles list`)"


def _version_ids(s: Session) -> tuple[int | None, int | None]:
    """The smallest and largest principle version ids (None, None: there are none)."""
    low, high = s.execute(select(func.min(PrincipleVersion.id), func.max(PrincipleVersion.id))).one()
    return low, high
