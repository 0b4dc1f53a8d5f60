"""`kindling endpoint check` as a run: the probes of an OpenAI-compatible endpoint stored as an
`endpoint` run, finished with the report's figures (failed when the check itself fails)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kindling.agents.llm.config import LLMConfig
    from kindling.agents.llm.endpoint_check import CheckReport
    from kindling.agents.task import Task
    from kindling.store.db import Store


def run_endpoint_check(store: Store, cfg: LLMConfig, key: str, *, samples: int,
                       max_in_flight: int, task: Task | None) -> tuple[int, CheckReport]:
    """Probe the endpoint `cfg` names (see `agents.llm.endpoint_check`; `task`: its judge's
    example as the probe, None: the built-in probe under the default task), every call stored
    under a new `endpoint` run; the run id and the report."""
    from kindling.agents.llm.endpoint_check import check_endpoint
    from kindling.agents.task import resolve_task
    from kindling.agents.task_ref import TASK_KEY, task_record
    from kindling.store import work
    from kindling.store.calls import CallLog
    from kindling.store.version import code_version

    run, _ = work.get_or_create_run(store, kind="endpoint", run_key=None,
                                    code_version=code_version(),
                                    config={**cfg.model_dump(),
                                            TASK_KEY: task_record(task or resolve_task())})
    calls = CallLog(store, run.id)
    try:
        report = asyncio.run(check_endpoint(cfg, key, calls, samples=samples,
                                            max_in_flight=max_in_flight, task=task))
    except BaseException:
        work.finish_run(store, run.id, "failed", {})
        raise
    finally:
        calls.flush()
    work.finish_run(store, run.id, "finished", report.as_metrics())
    return run.id, report
