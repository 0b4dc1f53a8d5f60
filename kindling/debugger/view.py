"""Rich views of a stepped run's stop and of a stored checkpoint (store text is never markup)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kindling.debugger.history import CheckpointStep
from kindling.debugger.session import Stop

SHORT = 160  # characters of a value shown in tables (the `print` and `calls` commands show all)


def show_value(value: Any, limit: int | None = SHORT) -> Text:
    """A state value as plain text (never rich markup), cut to `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"… (+{len(text) - limit})"
    return Text(text)


def changes_table(changed: dict[str, dict[str, Any]], limit: int | None = SHORT) -> Table:
    """Fields that changed: before → after."""
    table = Table(show_header=True, header_style="bold", expand=True)
    table.add_column("field", style="cyan", no_wrap=True)
    table.add_column("before", ratio=1)
    table.add_column("after", ratio=1)
    for name, change in changed.items():
        table.add_row(name, show_value(change["before"], limit), show_value(change["after"], limit))
    return table


def calls_table(calls: list[dict[str, Any]]) -> Table:
    """Agent calls: role, latency, attempt, parsed output or error."""
    table = Table(show_header=True, header_style="bold", expand=True)
    for column in ("#", "role", "ms", "try", "parsed output / error"):
        table.add_column(column, no_wrap=column != "parsed output / error")
    for call in calls:
        outcome = call["parsed_output"] if call["error"] is None else f"ERROR {call['error']}"
        table.add_row(str(call["id"]), call["role"], f"{call['latency_ms']:.0f}",
                      str(call["attempt"]), show_value(outcome))
    return table


def ran_and_next(head: Text, ran: str, following: list[str]) -> Text:
    """`ran: … next: …` appended to a panel's first line."""
    head.append("ran: ", style="bold")
    head.append(ran or "—")
    head.append("    next: ", style="bold")
    head.append(", ".join(following) or "— (end)")
    return head


def stop_panel(stop: Stop) -> Panel:
    """What a stop shows: the nodes, what they changed, the agent calls they made."""
    parts: list[Any] = [ran_and_next(Text(), " → ".join(stop.ran), stop.next)]
    if stop.changed:
        parts += [Text("state changes", style="bold"), changes_table(stop.changed)]
    if stop.calls:
        parts += [Text(f"agent calls ({len(stop.calls)})", style="bold"), calls_table(stop.calls)]
    return Panel(Group(*parts), title=Text(stop.reason), border_style="magenta")


def print_transcripts(console: Console, calls: list[dict[str, Any]]) -> None:
    """Every agent call in full: prompt messages, raw output, parsed output."""
    if not calls:
        console.print("no agent calls since the last stop")
    for call in calls:
        console.rule(Text(f"#{call['id']} {call['role']} ({call['template']}, {call['model']}, "
                          f"attempt {call['attempt']}, {call['latency_ms']:.0f} ms)"))
        for message in call["input"] or []:
            role = message.get("role", "?") if isinstance(message, dict) else "?"
            content = message.get("content", message) if isinstance(message, dict) else message
            console.print(Text(f"[{role}] ", style="bold"), show_value(content, None))
        console.print(Text("raw output: ", style="bold"), show_value(call["raw_output"], None))
        console.print(Text("parsed: ", style="bold"), show_value(call["parsed_output"], None))
        if call["error"]:
            console.print(Text("error: ", style="bold red"), show_value(call["error"], None))


def print_state(console: Console, state: dict[str, Any], name: str | None = None) -> None:
    """The whole state (or one field) untruncated."""
    if name is not None:
        if name not in state:
            console.print(Text(f"no field {name!r} in the state (fields: {', '.join(state)})"))
            return
        console.print(show_value(state[name], None))
        return
    table = Table(show_header=False, expand=True)
    table.add_column("field", style="cyan", no_wrap=True)
    table.add_column("value", ratio=1)
    for key, value in state.items():
        table.add_row(key, show_value(value, None))
    console.print(table)


def checkpoint_panel(step: CheckpointStep, total: int) -> Panel:
    """One stored checkpoint: which nodes made it, what is next, what changed."""
    head = Text()
    head.append(f"checkpoint {step.index + 1}/{total}  ", style="bold")
    head.append(f"step {step.step} · {step.source}  ")
    parts: list[Any] = [ran_and_next(head, ", ".join(step.ran), step.next)]
    if step.changed:
        parts.append(changes_table(step.changed))
    return Panel(Group(*parts), title=Text(step.checkpoint_id), border_style="blue")
