"""Pair Path A's judged candidates into preference pairs, stored as a `pairs` run.

`kindling pairs build` and `kindling experiment` call this; so can a notebook:

    from kindling.services.pairs import build_pairs
    built = build_pairs(store, curate_run_id, per_query=1)
"""

from __future__ import annotations

from dataclasses import dataclass

from kindling.store import pairs as pair_store
from kindling.store import work
from kindling.store.db import Store
from kindling.store.errors import UserError
from kindling.store.refs import no_run_message
from kindling.store.run_endings import end_run_early
from kindling.store.version import code_version


@dataclass(frozen=True)
class BuiltPairs:
    run_id: int
    pairs: int
    judged: int


def build_pairs(store: Store, curate_run: int, per_query: int | None) -> BuiltPairs:
    """Judged-good × judged-bad candidates of the same query: at most `per_query` a query (the
    paper's RM data has one), every combination when None. Same inputs → the same pairs run.

    Raises:
        UserError: no such run, or a run that is not a curate run.
    """
    kind = pair_store.run_kind(store, curate_run)
    if kind != "curate":
        raise UserError(no_run_message(store, curate_run) if kind is None else
                        f"run {curate_run} is a {kind!r} run, not a curate run")
    judged = pair_store.judged_candidates(store, curate_run)
    pairs = pair_store.pair_up(judged, per_query)
    run, _ = work.get_or_create_run(
        store, kind="pairs", run_key=f"pairs:{curate_run}:{per_query}",
        code_version=code_version(), config={"source_run": curate_run, "max_per_query": per_query})
    try:
        count = pair_store.save_pairs(store, run.id, curate_run, pairs)
    except BaseException as exc:  # interrupted or a bug: never left running (a rerun redoes it)
        end_run_early(store, run.id, exc)
        raise
    work.finish_run(store, run.id, "finished", {"pairs": count, "judged": len(judged)})
    return BuiltPairs(run.id, count, len(judged))
