"""Summaries of runs for the CLI: item counts, verdicts, agent-call statistics."""

from __future__ import annotations

from typing import Any

from kindling.store.db import Store, id_fits
from kindling.store.errors import RunRefError
from kindling.store.models import AgentCall, Judgment, PreferencePair, Run, RunItem, Verdict
from kindling.store.refs import as_run_id, no_run_message
from sqlalchemy import case, func, select


def list_runs(store: Store, limit: int = 50, kind: str | None = None,
              offset: int = 0) -> list[dict[str, Any]]:
    """Runs newest first, each with its item counts (done, failed) and preference pairs."""
    return runs_page(store, kind=kind, offset=offset, limit=limit)[1]


def runs_page(store: Store, *, kind: str | None, offset: int,
              limit: int) -> tuple[int, list[dict[str, Any]]]:
    """How many runs (of `kind`) there are, and one page of them as `list_runs` gives them."""
    items = (select(RunItem.run_id, func.count().label("n"),
                    func.sum(case((RunItem.status == "done", 1), else_=0)).label("done"),
                    func.sum(case((RunItem.status == "failed", 1), else_=0)).label("failed"))
             .group_by(RunItem.run_id).subquery())
    pairs = (select(PreferencePair.run_id, func.count().label("pairs"))
             .group_by(PreferencePair.run_id).subquery())
    stmt = (select(Run, items.c.n, items.c.done, items.c.failed, pairs.c.pairs)
            .outerjoin(items, items.c.run_id == Run.id).outerjoin(pairs, pairs.c.run_id == Run.id))
    count = select(func.count()).select_from(Run)
    if kind:
        stmt, count = stmt.where(Run.kind == kind), count.where(Run.kind == kind)
    with store.session() as s:
        total = s.scalar(count) or 0
        rows = s.execute(stmt.order_by(Run.id.desc()).offset(offset).limit(limit)).all()
        return total, [{"run": run, "items": n or 0, "done": done or 0, "failed": failed or 0,
                        "pairs": npairs or 0} for run, n, done, failed, npairs in rows]


def call_stats(store: Store, run_id: int) -> list[dict[str, Any]]:
    """Per role: attempts, failed attempts, mean latency, tokens."""
    stmt = (select(AgentCall.role, func.count(), func.count(AgentCall.error),
                   func.avg(AgentCall.latency_ms), func.sum(AgentCall.prompt_tokens),
                   func.sum(AgentCall.completion_tokens))
            .where(AgentCall.run_id == run_id).group_by(AgentCall.role).order_by(AgentCall.role))
    with store.session() as s:
        return [{"role": r, "attempts": n, "errors": e, "mean_latency_ms": lat or 0.0,
                 "prompt_tokens": pt or 0, "completion_tokens": ct or 0}
                for r, n, e, lat, pt, ct in s.execute(stmt).all()]


def verdict_stats(store: Store, run_id: int) -> dict[str, int]:
    stmt = select(
        func.sum(case((Verdict.final_verdict == 1, 1), else_=0)),
        func.sum(case((Verdict.final_verdict == 0, 1), else_=0)),
        func.sum(case((Verdict.status == "failed", 1), else_=0)),
        func.sum(case((Verdict.initial_verdict != Verdict.final_verdict, 1), else_=0)),
    ).where(Verdict.run_id == run_id)
    with store.session() as s:
        good, bad, failed, overturned = s.execute(stmt).one()
    return {"good": good or 0, "bad": bad or 0, "failed": failed or 0,
            "overturned": overturned or 0}


def run_id_fits(run_id: int, backend: str) -> bool:
    """Whether a run id can be in a store of this backend at all. One that cannot is no run
    there: it is never sent to the database (SQLite cannot even bind one above 2^63 - 1)."""
    return id_fits(run_id, backend)


def get_run(store: Store, run_id: int) -> Run | None:
    """The run with this id (None: no such run, an id out of the store's range included)."""
    if not run_id_fits(run_id, store.dialect):
        return None
    with store.session() as s:
        return s.get(Run, run_id)


def run_row_counts(store: Store, run_id: int) -> tuple[int, int]:
    """How many agent calls and judgments a run recorded."""
    with store.session() as s:
        calls = s.scalar(select(func.count()).where(AgentCall.run_id == run_id)) or 0
        judgments = s.scalar(select(func.count()).where(Judgment.run_id == run_id)) or 0
    return calls, judgments


def first_item_key(store: Store, run_id: int) -> str | None:
    """The run's first work item's key (None for runs without items, e.g. adversarial)."""
    with store.session() as s:
        return s.scalars(select(RunItem.item_key).where(RunItem.run_id == run_id)
                         .order_by(RunItem.id).limit(1)).first()


def status_counts(store: Store) -> tuple[int, dict[str, int]]:
    """Agent calls in the whole store, and work items by status (for benchmarks)."""
    with store.session() as s:
        calls = s.scalar(select(func.count()).select_from(AgentCall)) or 0
        counts = dict(s.execute(select(RunItem.status, func.count())
                                .group_by(RunItem.status)).all())
    return calls, {str(k): int(v) for k, v in counts.items()}


POLICY_RUN_KINDS = ("sft", "grpo")


def policy_output_dir(store: Store, ref: str, what: str = "model") -> str:
    """The output folder of the sft or grpo run `ref` (`run:ID` or `run:NAME`, the newest run of
    that name) names.

    Raises:
        RunRefError: no such run, a run of another kind, or no output folder recorded (`what`
            names the setting in the message).
    """
    key = ref.removeprefix("run:")
    run_id = as_run_id(key)
    if run_id is None and key:
        run_id = run_id_by_name(store, key)
    run = get_run(store, run_id) if run_id is not None else None
    if run is None:
        raise RunRefError(f"{what} {ref}: expected an sft or grpo run; "
                         f"{no_run_message(store, key, kinds=POLICY_RUN_KINDS)}")
    if run.kind not in POLICY_RUN_KINDS:
        raise RunRefError(f"{what} {ref}: that run is of kind {run.kind!r}; expected an sft or "
                         "grpo run")
    out = (run.metrics or {}).get("output_dir") or (run.config or {}).get("trl", {}).get("output_dir")
    if not out:
        raise RunRefError(f"{what} {ref}: the run records no output folder")
    from kindling.store.stored_paths import located

    return located(store, str(out), f"{what} {ref}")


def first_verdict_error(store: Store, run_id: int) -> str | None:
    """The error of a run's first failed verdict (why items failed), if any."""
    stmt = (select(Verdict.error).where(Verdict.run_id == run_id, Verdict.status == "failed",
                                        Verdict.error.is_not(None)).order_by(Verdict.id).limit(1))
    with store.session() as s:
        return s.scalars(stmt).first()


def run_id_by_name(store: Store, name: str) -> int | None:
    """The newest run with this name, if any."""
    with store.session() as s:
        return s.scalar(select(Run.id).where(Run.name == name).order_by(Run.id.desc()).limit(1))
