"""Runs and their work items: create or resume a run, claim items under a lease, count progress."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kindling.store.db import Store
from kindling.store.models import Run, RunItem, utcnow
from kindling.store.upsert import insert_ignore
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError


@dataclass(frozen=True)
class ClaimedItem:
    item_key: str
    query_id: int
    response_id: int | None
    attempts: int


def worker_id() -> str:
    """host:pid of this process; a local worker that died is recognised by its pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_host() -> str:
    """Where this process's id means something: the host's name and, where the system has them,
    its process-id namespace (a container may share the host's name but not its process ids)."""
    host = socket.gethostname()[:200]  # runs.process holds 255 characters
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return host
    return f"{host}/{namespace[:40]}"


def run_process() -> str:
    """What a run records of the process that opens it: `process_host():pid`."""
    return f"{process_host()}:{os.getpid()}"


def get_or_create_run(
    store: Store, *, kind: str, run_key: str | None, config: dict[str, Any],
    code_version: str, name: str | None = None, started_at: datetime | None = None,
) -> tuple[Run, bool]:
    """Find the run with `run_key` or create it (race-safe across processes). Returns (run, created).

    A run found by its key is this process's now (it records it); a `name` given for it renames
    it. `started_at` is when the work began, for a run stored once its work is done (an
    evaluation); default now.
    """
    if run_key is not None:
        existing = find_run_by_key(store, run_key)
        if existing is not None:
            if name and existing.name != name:
                rename_run(store, existing.id, name)
                existing.name = name
            _take_over(store, existing)
            return existing, False
    try:
        with store.session() as s:
            run = Run(kind=kind, run_key=run_key, config=config, code_version=code_version,
                      name=name, status="running", started_at=started_at or utcnow(),
                      process=run_process())
            s.add(run)
            s.flush()
            return run, True
    except IntegrityError:
        existing = find_run_by_key(store, run_key or "")
        if existing is None:
            raise
        return existing, False


def _take_over(store: Store, run: Run) -> None:
    """Record this process as the run's (a run taken up again is this process's now)."""
    run.process = run_process()
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run.id).values(process=run.process))


def rename_run(store: Store, run_id: int, name: str) -> None:
    """Give the run this name (shown by `kindling runs` and the studio)."""
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(name=name))


def record_edit(store: Store, run_id: int, edit: dict[str, Any]) -> None:
    """Note a state edit made while stepping or forking the run (config["edits"], in order):
    the run is then shown as edited wherever it is listed."""
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is not None:
            run.config = {**(run.config or {}), "edits": [*(run.config or {}).get("edits", []),
                                                        edit]}


def find_run_by_key(store: Store, run_key: str) -> Run | None:
    with store.session() as s:
        return s.scalars(select(Run).where(Run.run_key == run_key)).first()


def add_items(store: Store, run_id: int, items: list[dict[str, Any]]) -> int:
    """Insert the run's items that are not there yet; returns how many were added."""
    with store.session() as s:
        have = set(s.scalars(select(RunItem.item_key).where(RunItem.run_id == run_id)))
        new = [{**it, "run_id": run_id} for it in items if it["item_key"] not in have]
        for start in range(0, len(new), 5000):  # another worker may add the same items: ignore
            insert_ignore(s, RunItem, new[start : start + 5000])
    return len(new)


def _dead_local_workers(store: Store, run_id: int) -> list[str]:
    host = socket.gethostname()
    with store.session() as s:
        workers = s.scalars(
            select(RunItem.worker).where(RunItem.run_id == run_id, RunItem.status == "claimed")
            .distinct()
        ).all()
    dead = []
    for w in workers:
        if not w or not w.startswith(host + ":"):
            continue
        pid = int(w.rsplit(":", 1)[1])
        if pid != os.getpid() and not pid_alive(pid):
            dead.append(w)
    return dead


MAX_PID = 2**22
"""Linux's largest process id (pid_max's limit): a larger one names no process."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (0, negative or past MAX_PID: none; 0
    and negative ids name process groups, which os.kill would test instead)."""
    if not 0 < pid <= MAX_PID:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_items(store: Store, run_id: int, worker: str, n: int, lease_s: float, *,
                reclaim_dead: bool = True) -> list[ClaimedItem]:
    """Atomically take up to `n` pending items, or items whose lease ran out, or (with
    `reclaim_dead`, one more query) items held by a dead worker process on this host."""
    now = utcnow()
    dead = _dead_local_workers(store, run_id) if reclaim_dead else []
    claimable = or_(
        RunItem.status == "pending",
        (RunItem.status == "claimed") & (RunItem.lease_until < now),
        (RunItem.status == "claimed") & RunItem.worker.in_(dead),
    )
    ids = (
        select(RunItem.id).where(RunItem.run_id == run_id, claimable)
        .order_by(RunItem.id).limit(n).with_for_update(skip_locked=True)
    )
    stmt = (
        update(RunItem).where(RunItem.id.in_(ids.scalar_subquery()))
        .values(status="claimed", worker=worker, lease_until=now + timedelta(seconds=lease_s),
                attempts=RunItem.attempts + 1)
        .returning(RunItem.item_key, RunItem.query_id, RunItem.response_id, RunItem.attempts)
        .execution_options(synchronize_session=False)
    )
    with store.session() as s:
        rows = s.execute(stmt).all()
    return sorted((ClaimedItem(*row) for row in rows), key=lambda c: c.item_key)


def reopen_failed_items(store: Store, run_id: int) -> int:
    """Make a run's failed items pending again and drop their failed verdicts (attempts stay)."""
    from kindling.store.models import Verdict
    from sqlalchemy import delete

    with store.session() as s:
        keys = s.scalars(select(RunItem.item_key).where(
            RunItem.run_id == run_id, RunItem.status == "failed")).all()
        if keys:
            s.execute(delete(Verdict).where(Verdict.run_id == run_id, Verdict.item_key.in_(keys)))
            s.execute(update(RunItem).where(RunItem.run_id == run_id, RunItem.item_key.in_(keys))
                      .values(status="pending", worker=None, lease_until=None))
    return len(keys)


def release_items(store: Store, run_id: int, worker: str) -> int:
    """Give back the items this worker holds (pending again, attempts kept); returns how many."""
    with store.session() as s:
        result = s.execute(
            update(RunItem).where(RunItem.run_id == run_id, RunItem.worker == worker,
                                  RunItem.status == "claimed")
            .values(status="pending", worker=None, lease_until=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def merge_config(store: Store, run_id: int, extra: dict[str, Any]) -> None:
    """Add keys to a run's config (e.g. what `structured_output: auto` chose)."""
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        run.config = {**(run.config or {}), **extra}


def record_modes(store: Store, run_id: int, modes: dict[str, str]) -> None:
    """Note in the run's config the structured-output mode each role ended on (what
    `structured_output: auto` chose for its endpoint)."""
    if modes:
        merge_config(store, run_id, {"structured_output_used": modes})


def renew_lease(store: Store, run_id: int, worker: str, lease_s: float) -> None:
    """Heartbeat: extend the lease of every item this worker holds."""
    with store.session() as s:
        s.execute(
            update(RunItem).where(RunItem.run_id == run_id, RunItem.worker == worker,
                                  RunItem.status == "claimed")
            .values(lease_until=utcnow() + timedelta(seconds=lease_s))
        )


def item_attempts(store: Store, run_id: int, item_key: str) -> int | None:
    """How many times a run's item was claimed (None: no such item)."""
    with store.session() as s:
        return s.scalar(select(RunItem.attempts).where(
            RunItem.run_id == run_id, RunItem.item_key == item_key))


def item_counts(store: Store, run_id: int) -> dict[str, int]:
    """Items of a run by status (pending, claimed, done, failed)."""
    with store.session() as s:
        rows = s.execute(
            select(RunItem.status, func.count()).where(RunItem.run_id == run_id)
            .group_by(RunItem.status)
        ).all()
    return {status: count for status, count in rows}


def save_metrics(store: Store, run_id: int, metrics: dict[str, Any]) -> None:
    """Replace a running run's metrics (a trainer calls it at each logging step)."""
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        run.metrics = metrics


def finish_run(store: Store, run_id: int, status: str, metrics: dict[str, Any]) -> None:
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        run.status, run.finished_at, run.metrics = status, utcnow(), metrics


def stop_run(store: Store, run_id: int, reason: str, metrics: dict[str, Any]) -> None:
    """Mark a run stopped before its end (the endpoint refused, or asked to wait too long),
    with the reason; running the same command again resumes it."""
    finish_run(store, run_id, "stopped", {**metrics, "stopped": reason})


def set_run_key(store: Store, run_id: int, run_key: str | None) -> None:
    """Give the run this key (a run found again by it is resumed), or take its key away."""
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(run_key=run_key))


def stopped_run_by_key(store: Store, run_key: str) -> Run | None:
    """The stopped run holding `run_key`, if any (a run that is resumed only while stopped)."""
    run = find_run_by_key(store, run_key)
    return run if run is not None and run.status == "stopped" else None


def reopen_run(store: Store, run_id: int) -> None:
    """A stopped or failed run being resumed is running again, in this process."""
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run_id, Run.status.in_(("stopped", "failed")))
                  .values(status="running", finished_at=None, process=run_process()))
