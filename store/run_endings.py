"""A run whose command ends before its work does is never left `running`.

Interrupted (Ctrl-C, SIGTERM: a KeyboardInterrupt, or the CancelledError asyncio turns it into)
it is marked `stopped`; ended by an error, `failed`, with the error. A run that several workers
share (curate) keeps `running` while another worker still holds items of it. Either way the
worker's own items are given back, and a rerun of the command finds the run, marks it `running`
again (`work.reopen_run`) and resumes it.
"""

from __future__ import annotations

import asyncio

from kindling.store import work
from kindling.store.db import Store
from kindling.store.models import Run, RunItem, utcnow
from sqlalchemy import func, select
from sqlalchemy.orm import Session

INTERRUPTIONS = (KeyboardInterrupt, asyncio.CancelledError)


def was_interrupted(exc: BaseException) -> bool:
    """Whether `exc` is an interruption (Ctrl-C, SIGTERM, a cancelled task), not an error."""
    return isinstance(exc, INTERRUPTIONS)


def end_run_early(store: Store, run_id: int, exc: BaseException, *,
                  worker: str | None = None) -> str:
    """Record that the run's command ended before its work did.

    Args:
        store: the run's store.
        run_id: the run.
        exc: what ended it (an interruption: `stopped`; anything else: `failed`).
        worker: this process's worker id, for a run of claimed items: they are given back,
            and the run is left `running` while other workers hold items of it.

    Returns:
        The run's status now.
    """
    if worker is not None:
        work.release_items(store, run_id, worker)
    status = "stopped" if was_interrupted(exc) else "failed"
    reason = ("interrupted (Ctrl-C or SIGTERM); rerun the command to resume" if status == "stopped"
              else f"{type(exc).__name__}: {exc}"[:2000])
    with store.session() as s:
        if worker is not None and _held_by_others(s, run_id, worker):
            return "running"
        run = s.get(Run, run_id)
        if run is None or run.status != "running":
            return run.status if run is not None else status
        run.status, run.finished_at = status, utcnow()
        run.metrics = {**(run.metrics or {}), "stopped" if status == "stopped" else "error": reason}
    return status


def _held_by_others(session: Session, run_id: int, worker: str) -> bool:
    now = utcnow()
    held = session.scalar(
        select(func.count()).select_from(RunItem).where(
            RunItem.run_id == run_id, RunItem.status == "claimed", RunItem.worker != worker,
            RunItem.lease_until > now))
    return bool(held)
