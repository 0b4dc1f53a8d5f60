"""`kindling principles ...`: list, show, diff, activate, export, import and edit principle versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
import yaml
from rich.table import Table
from rich.text import Text

from kindling.context import console, fail
from kindling.options import PrincipleKind, check_task, parse_run

if TYPE_CHECKING:
    from kindling.store.models import PrincipleVersion

app = typer.Typer(help="Principle versions (Path B's S_D and S_G, and Path A's debate_judge rules).", no_args_is_help=True)

TASK_FILTER = ("Only versions made under this task (a name, ./tasks/NAME or a folder; versions "
               "from before tasks were recorded count as greetings-zh).")


def _task_name(task: str | None) -> str | None:
    """--task as the task's name (the option has checked that it loads)."""
    from kindling.agents.task import resolve_task

    return None if task is None else resolve_task(task).name


def _with_baseline(version: PrincipleVersion, name: str) -> str:
    """`0.812`, or `0.812 (0.900)` when a length-only baseline figure is stored beside it."""
    from kindling.store.principles import metric

    value = metric(version, name)
    if value is None:
        return "-"
    baseline = (version.metrics or {}).get("length_baseline")
    base = baseline.get(name) if isinstance(baseline, dict) else (
        baseline if name == "accuracy" else None)
    if isinstance(base, int | float) and not isinstance(base, bool):
        return f"{value:.3f} ({base:.3f})"
    return f"{value:.3f}"


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    kind: PrincipleKind = typer.Option(None, help="Only versions of this kind."),
    run: int = typer.Option(None, "--run", parser=parse_run, metavar="RUN", help="Only versions made by this run."),
    task: str = typer.Option(None, "--task", callback=check_task, metavar="NAME|DIR", help=TASK_FILTER),
) -> None:
    """Versions with task, lineage, origin, run/iteration, active flag and validation metrics."""
    from kindling.store.principle_tasks import version_task
    from kindling.store.principles import list_versions

    table = Table(title="principle versions",
                  caption="accuracy, F1: validation; (in brackets) the length-only baseline")
    for col in ("id", "kind", "task", "name", "origin", "parent", "run", "iter", "active",
                "accuracy", "F1", "created"):
        table.add_column(col, overflow="fold")
    for v in list_versions(ctx.obj.open_store(writes=False), kind, run, _task_name(task)):
        table.add_row(
            str(v.id), v.kind, version_task(v), v.name, v.origin, str(v.parent_id or "-"),
            str(v.run_id or "-"),
            "-" if v.iteration is None else str(v.iteration), "*" if v.active else "",
            _with_baseline(v, "accuracy"), _with_baseline(v, "f1"),
            f"{v.created_at:%m-%d %H:%M}")
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, version_id: int = typer.Argument(..., help="Version id.")) -> None:
    """The rules, numbered, with lineage, origin, run/iteration, feedback and metrics."""
    from kindling.store.principle_tasks import version_task
    from kindling.store.principles import get_version, lineage, rules_of

    store = ctx.obj.open_store(writes=False)
    v = get_version(store, version_id)
    chain = " ← ".join(f"{a.id} ({a.origin})" for a in lineage(store, version_id))
    console.print(f"[bold]principle version {v.id}[/] kind={v.kind} task={version_task(v)} "
                  f"name={v.name} origin={v.origin} active={'yes' if v.active else 'no'}",
                  highlight=False)
    console.print(f"lineage: {chain}", highlight=False)
    console.print(f"run: {v.run_id or '-'}  iteration: {'-' if v.iteration is None else v.iteration}"
                  f"  created: {v.created_at:%Y-%m-%d %H:%M:%S}", highlight=False)
    console.print("[bold]rules[/]")
    for number, rule in enumerate(rules_of(v), start=1):
        console.print(f"  {number:>2}. {rule}", highlight=False, markup=False)
    if v.feedback:
        console.print("[bold]feedback[/]")
        console.print(v.feedback, highlight=False, markup=False)
    if v.metrics:
        console.print("[bold]metrics[/]")
        console.print(yaml.safe_dump(v.metrics, allow_unicode=True, sort_keys=False).rstrip(),
                      highlight=False, markup=False)


@app.command("diff")
def diff(
    ctx: typer.Context,
    a: int = typer.Argument(None, help="Version to diff from."),
    b: int = typer.Argument(None, help="Version to diff to."),
    best: bool = typer.Option(False, "--best", help="Diff the best-validated version (as `activate --best` picks it) against the version its lineage started from."),
    kind: PrincipleKind = typer.Option(None, help="With --best: the kind (default detector)."),
    run: int = typer.Option(None, "--run", parser=parse_run, metavar="RUN", help="With --best: only versions made by this run (an id or a run name)."),
) -> None:
    """Unified diff of two versions' rules (added green, removed red); --best: what the
    adversarial loop changed in its best version."""
    from kindling.services.principles import best_against_start
    from kindling.store.principles import get_version, versions_diff

    store = ctx.obj.open_store(writes=False)
    if best == (a is not None or b is not None) or (not best and b is None):
        fail("give two version ids, or --best")
    if not best and (kind is not None or run is not None):
        fail("--kind and --run only go with --best")
    if best:
        first, second = best_against_start(store, kind or "detector", run)
        a, b = first.id, second.id
        if a == b:
            console.print(f"the best {second.kind} version is {a}, a starting version: no "
                          "revision of it validated better")
            return
    else:
        first, second = get_version(store, a), get_version(store, b)
    if first.kind != second.kind:
        fail(f"version {a} is a {first.kind} set and {b} a {second.kind} set: diff two "
             "versions of one kind (`kindling principles list --kind K`)")
    lines = versions_diff(first, second)
    if not lines:
        console.print(f"versions {a} and {b} have the same rules")
        return
    for line in styled_diff(lines):
        console.print(line)


DIFF_STYLES = {"+++": "bold", "---": "bold", "@@": "cyan", "+": "green", "-": "red"}


def styled_diff(lines: list[str]) -> list[Text]:
    """Unified-diff lines as rich text: added green, removed red, hunk headers cyan."""
    return [Text(line, style=next((st for prefix, st in DIFF_STYLES.items()
                                   if line.startswith(prefix)), ""))
            for line in lines]


@app.command("activate")
def activate_cmd(
    ctx: typer.Context,
    version_id: int = typer.Argument(None, help="Version to activate (or use --best)."),
    best: bool = typer.Option(False, "--best", help="Activate the version with the highest validation F1."),
    kind: PrincipleKind = typer.Option(None, help="With --best: the kind to choose from (default detector)."),
    run: int = typer.Option(None, "--run", parser=parse_run, metavar="RUN", help="With --best: only versions made by this run."),
    force: bool = typer.Option(False, "--force", help="With --best: activate even a version no better than its starting version or the length-only rule."),
    task: str = typer.Option(None, "--task", callback=check_task, metavar="NAME|DIR", help="With --best: choose among this task's versions only."),
) -> None:
    """Make one version the active version of its kind for its task (each task has its own).

    The other versions of that kind and task become inactive.

    `--best` refuses, without --force, a version that is no better on validation than the version
    Path B started from, or than the length-only rule on the same items."""
    from kindling.services.principles import activate_best
    from kindling.store.principle_tasks import version_task
    from kindling.store.principles import activate, metric

    store = ctx.obj.open_store()
    if best == (version_id is not None):
        fail("give either a version id or --best")
    if not best and (kind is not None or run is not None or task is not None):
        fail("--kind, --run and --task only go with --best")
    if not best and force:
        fail("--force only goes with --best")
    if best:
        chosen = activate_best(store, kind or "detector", run, _task_name(task), force=force)
        for doubt in chosen.doubts:
            console.print(f"[yellow]warning:[/] {doubt}", highlight=False)
        v = chosen.version
    else:
        v = activate(store, version_id)
    f1 = metric(v, "f1")
    console.print(f"activated {v.kind} version {v.id} ({v.name}) for task {version_task(v)}"
                  + (f", validation F1 {f1:.3f}" if f1 is not None else ""), highlight=False)



# export, import and edit live in principle_files.py; cli.py registers them on this app.
