"""Whether a run marked running still has its process: a run killed outright (the OOM killer,
kill -9) never marks itself ended, so readers show it as crashed instead of running forever.

A run records the host (with its process-id namespace) and pid that opened it or last took it
up (`runs.process`). Only runs one process owns are judged (training, evaluations, endpoint
checks, pairs): curate, judge and adversarial runs may have several workers, and their next
command resumes them. A process on another host cannot be seen from here: such a run shows its
stored status.
"""

from __future__ import annotations

from kindling.store.models import Run
from kindling.store.work import MAX_PID, pid_alive, process_host

ONE_PROCESS_KINDS = frozenset({"sft", "rm", "grpo", "eval", "endpoint", "pairs"})
CRASHED = "crashed"


def process_gone(run: Run) -> bool:
    """Whether `run` is marked running, is owned by one process on this host, and that process
    is no longer alive."""
    if run.status != "running" or run.kind not in ONE_PROCESS_KINDS or not run.process:
        return False
    host, _, pid = run.process.rpartition(":")
    if host != process_host() or not pid.isdigit() or not 0 < int(pid) <= MAX_PID:
        return False  # elsewhere, or not a process id this host can have: shown as stored
    return not pid_alive(int(pid))


def status_line(run: Run) -> str:
    """The status with, for a crashed run, what that means."""
    if not process_gone(run):
        return run.status
    return (f"{CRASHED}: its process ({run.process}) ended without marking it ended (killed, "
            "e.g. out of memory?)")


def shown_status(run: Run) -> str:
    """The status to show: the stored one, or `crashed` for a running run whose process is gone."""
    return CRASHED if process_gone(run) else run.status
