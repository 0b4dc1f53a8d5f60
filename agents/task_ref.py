"""The `task` field every run config has, and what a run records of its task.

`TaskRef` is the one field type: a built-in task's name (`greetings-zh`), the name of a project
task under ./tasks/, or a task folder (a value with a slash or a leading dot resolves against the
config file's folder, or the current folder on the command line). Validating a config loads
and checks the task (once a process: `resolve_task`), so a task that does not load fails at
config load, naming task.yaml's file, line and field, before any run is created.
"""

from __future__ import annotations

from typing import Annotated, Any

from kindling.agents.paths import PathRule
from kindling.agents.task import DEFAULT_TASK, Task, TaskError, resolve_task
from kindling.agents.task_words import FORCE_TASK_HELP
from kindling.store.run_summary import TASK_KEY
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

TASK_HELP = ("The task: a built-in task's name (greetings-zh, ...), a task under ./tasks/ or a "
             "task folder (kindling task list). Its prompts, language and length unit are used.")


def _check_task(value: str) -> str:
    try:
        resolve_task(value)
    except TaskError as exc:
        raise PydanticCustomError("task", "{problem}", {"problem": str(exc)}) from exc
    return value


TaskRef = Annotated[str, PathRule.TASK, AfterValidator(_check_task)]


def task_field() -> Any:
    """The `task:` field of a run config (default greetings-zh)."""
    return Field(DEFAULT_TASK, description=TASK_HELP)


FORCED_KEY = "task_forced"
"""Where a run config records a principle version of another task it was forced to use."""


def forced_config(task: Task, *versions: Any) -> dict[str, Any]:
    """`{task_forced: [...]}` for the principle versions among `versions` made under another task
    than `task` (used because force_task was given), else `{}`: merged into a run's config."""
    from kindling.store.principle_tasks import forced_record, version_task

    forced = [forced_record(v, task.name) for v in versions
              if v is not None and version_task(v) != task.name]
    return {FORCED_KEY: forced} if forced else {}


def force_task_field() -> Any:
    """The `force_task:` field of a run config that picks principle versions (default false)."""
    return Field(False, description=FORCE_TASK_HELP)


def task_record(task: Task) -> dict[str, str]:
    """What a run stores of its task (under TASK_KEY in its config)."""
    return {"name": task.name, "hash": task.content_hash, "language": task.language,
            "length_unit": task.length_unit}


def recorded_task(config: dict[str, Any] | None) -> dict[str, str] | None:
    """The task a run's config records (None: a run from before tasks were recorded)."""
    found = (config or {}).get(TASK_KEY)
    return found if isinstance(found, dict) else None


__all__ = ["FORCED_KEY", "FORCE_TASK_HELP", "TASK_HELP", "TASK_KEY", "TaskRef",
           "force_task_field", "forced_config", "recorded_task", "task_field", "task_record"]
