"""The interactive loops of `kindling graph step` and `kindling graph replay` (read a command, act).

Commands come one per line from `read` (the terminal's input by default, so a script can pipe
them in); end of input means quit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text

from kindling.debugger.errors import StepError
from kindling.debugger.history import CheckpointStep
from kindling.debugger.replay import ForkOutcome, fork_run
from kindling.debugger.session import StepSession, Stop
from kindling.debugger.view import checkpoint_panel, print_state, print_transcripts, stop_panel
from kindling.store.db import Store

STEP_HELP = ("commands: c(ontinue) · s(tep) · e(dit) FIELD=VALUE · p(rint) [FIELD] · calls · "
             "q(uit) · h(elp)   VALUE is JSON when it parses (1, true, [\"a\"]), else text")
REPLAY_HELP = ("commands: n(ext) · b(ack) · g(o) N · p(rint) [FIELD] · "
               "f(ork) FIELD=VALUE [FIELD=VALUE ...] · q(uit) · h(elp)")

Reader = Callable[[str], str]


def parse_assignment(text: str) -> tuple[str, Any]:
    """`FIELD=VALUE` → (field, value); the value is JSON when it parses, else the text itself.

    Raises:
        StepError: no `=`, or an empty field name.
    """
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise StepError(f"expected FIELD=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def parse_assignments(parts: list[str]) -> dict[str, Any]:
    """Several `FIELD=VALUE` words (a value may hold spaces: words without `=` join the last)."""
    merged: list[str] = []
    for part in parts:
        if "=" in part or not merged:
            merged.append(part)
        else:
            merged[-1] += " " + part
    return dict(parse_assignment(p) for p in merged)


def _read(read: Reader, prompt: str) -> str | None:
    try:
        return read(prompt).strip()
    except EOFError:
        return None


async def step_loop(session: StepSession, console: Console, read: Reader = input) -> Stop:
    """Pause before the first node, then obey commands until the run ends or the user quits."""
    stop = await session.begin()
    console.print(Text(STEP_HELP, style="dim"))
    while True:
        console.print(stop_panel(stop))
        if stop.finished:
            return stop
        following = await _step_command(session, stop, console, read)
        if following is None:
            return stop
        stop = following


async def _step_command(session: StepSession, stop: Stop, console: Console,
                        read: Reader) -> Stop | None:
    """Read commands until one moves the run; None means quit."""
    while True:
        line = _read(read, "(step) ")
        if line is None:
            return None
        command, _, arg = line.partition(" ")
        try:
            if command in ("c", "continue"):
                return await session.advance()
            if command in ("s", "step"):
                return await session.advance(step=True)
            if command in ("e", "edit"):
                name, value = parse_assignment(arg)
                return await session.edit(name, value)
        except StepError as exc:
            console.print(Text(str(exc), style="red"))
            continue
        if command in ("q", "quit"):
            return None
        if command in ("p", "print"):
            print_state(console, stop.state, arg.strip() or None)
        elif command == "calls":
            print_transcripts(console, stop.calls)
        else:
            console.print(Text(STEP_HELP))


async def replay_loop(store: Store, run_id: int, item_key: str | None,
                      steps: list[CheckpointStep], console: Console,
                      read: Reader = input) -> list[int]:
    """Walk the checkpoints forward and back; fork from one. Returns the runs forks made."""
    position, forks = 0, list[int]()
    console.print(Text(REPLAY_HELP, style="dim"))
    while True:
        console.print(checkpoint_panel(steps[position], len(steps)))
        line = _read(read, "(replay) ")
        if line is None or line in ("q", "quit"):
            return forks
        command, _, arg = line.partition(" ")
        if command in ("n", "next"):
            position = min(position + 1, len(steps) - 1)
        elif command in ("b", "back"):
            position = max(position - 1, 0)
        elif command in ("g", "go") and arg.strip().isdigit():
            position = min(max(int(arg) - 1, 0), len(steps) - 1)
        elif command in ("p", "print"):
            print_state(console, steps[position].values, arg.strip() or None)
        elif command in ("f", "fork"):
            made = await fork_and_report(store, run_id, item_key, steps[position],
                                         arg.split(), console)
            forks += [made] if made is not None else []
        else:
            console.print(Text(REPLAY_HELP))


async def fork_and_report(store: Store, run_id: int, item_key: str | None, at: CheckpointStep,
                          assignments: list[str], console: Console) -> int | None:
    """Fork at a checkpoint with edits, run the new run to its end, print where it ended."""
    try:
        outcome = await fork_run(store, run_id, item_key, at, parse_assignments(assignments))
    except (StepError, ValueError, LookupError) as exc:
        console.print(Text(f"cannot fork: {exc}", style="red"))
        return None
    print_fork(console, run_id, at, outcome)
    return outcome.run_id


def print_fork(console: Console, run_id: int, at: CheckpointStep, outcome: ForkOutcome) -> None:
    """Where a fork's new run ended, and its id."""
    console.print(stop_panel(outcome.stop))
    console.print(Text(f"forked run {run_id} at checkpoint {at.index + 1} into run "
                       f"{outcome.run_id}", style="bold green"))
