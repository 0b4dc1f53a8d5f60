"""SIGTERM ends a command the way Ctrl-C does.

Python's default SIGTERM ends the process on the spot: no `finally`, no `except BaseException`,
so a run would stay `running` for good. While a command runs, SIGTERM is handed to whatever
handles SIGINT at that moment: Python's default raises KeyboardInterrupt in the main thread (a
training loop, a store write), and inside `asyncio.run` the runner's own handler cancels the main
task, so every path that cleans up after Ctrl-C (runs marked failed or stopped, calls flushed,
servers stopped) cleans up after SIGTERM too. The command then exits with status 143 (128 + 15),
as a process ended by SIGTERM does.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGTERM_EXIT = 128 + signal.SIGTERM
CHILD_GRACE_S = 30.0  # a child told to stop gets this long to mark its run before SIGKILL

_terminated = False


def terminated() -> bool:
    """Whether SIGTERM arrived while the current command ran."""
    return _terminated


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _terminated
    _terminated = True
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and handler is not _on_sigterm:
        handler(signal.SIGINT, frame)  # default_int_handler raises; asyncio's cancels its task
        return
    raise KeyboardInterrupt  # SIGINT ignored (a background job): interrupt all the same


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM acts as SIGINT does; the previous
    handler is put back after it. The KeyboardInterrupt a SIGTERM caused ends the command with
    one `error:` line and status 143; one from Ctrl-C goes on as before."""
    global _terminated
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _terminated = False
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    except KeyboardInterrupt:
        if not _terminated:
            raise  # Ctrl-C: click reports it as ever ("Aborted!", status 1)
        from kindling.context import fail

        fail("stopped by SIGTERM, as by Ctrl-C (a run it was making is marked stopped or "
             "failed: see `kindling runs`)", code=SIGTERM_EXIT)
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_child(cmd: list[str], *, grace_s: float = CHILD_GRACE_S) -> int:
    """Run `cmd` and return its exit status; if this process is interrupted meanwhile, stop the
    child first (so it can mark its run), then re-raise.

    Ctrl-C in a terminal reaches the child too (same process group): it is given `grace_s` to
    finish by itself. SIGTERM reaches only this process: it is passed on to the child at once.
    Either way a child still there after `grace_s` is killed.
    """
    child = subprocess.Popen(cmd)
    try:
        return child.wait()
    except KeyboardInterrupt:
        stop_child(child, forward=terminated(), grace_s=grace_s)
        raise


def stop_child(child: subprocess.Popen[bytes], *, forward: bool, grace_s: float) -> None:
    """Let `child` end: send it SIGTERM at once when `forward` (else first wait `grace_s` for
    it to end by itself, then SIGTERM), and SIGKILL it when still there `grace_s` later."""
    sends = [child.terminate, child.kill] if forward else [_nothing, child.terminate, child.kill]
    for send in sends:
        if child.poll() is not None:
            return
        send()
        try:
            child.wait(timeout=grace_s)
            return
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # too slow, or interrupted again
            continue
    child.wait()


def _nothing() -> None:
    """Send nothing (the child got the terminal's SIGINT itself)."""
