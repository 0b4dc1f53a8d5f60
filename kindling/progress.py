"""Live progress of a run on the console: items done and failed, LLM calls per second."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kindling.context import console
from kindling.store.calls import CallLog


class RunProgress:
    """A rich progress bar fed by the item driver; silent when disabled (tests, benchmarks)."""

    def __init__(self, counts: dict[str, int], calls: CallLog, *, enabled: bool = True) -> None:
        self.total = sum(counts.values())
        self.done = counts.get("done", 0)
        self.failed = counts.get("failed", 0)
        self.calls, self.enabled = calls, enabled
        self._started = time.perf_counter()
        self._calls_at_start = calls.calls_made
        self._bar = Progress(
            TextColumn("[bold]curate"), BarColumn(), MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"), TextColumn("{task.fields[rate]} calls/s"),
            TimeElapsedColumn(), console=console, disable=not enabled,
        )
        self._task = self._bar.add_task("items", total=self.total, completed=self.done + self.failed,
                                        failed=self.failed, rate="0.0")

    def __enter__(self) -> Self:
        self._bar.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._bar.__exit__(et, e, tb)

    def item_finished(self, ok: bool) -> None:
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if self.enabled:
            elapsed = max(time.perf_counter() - self._started, 1e-9)
            rate = (self.calls.calls_made - self._calls_at_start) / elapsed
            self._bar.update(self._task, completed=self.done + self.failed, failed=self.failed,
                             rate=f"{rate:.1f}")
