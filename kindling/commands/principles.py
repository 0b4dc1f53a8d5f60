"""`kindling principles ...`: list, show, diff, activate, export, import and edit principle versions."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import yaml
from rich.table import Table
from rich.text import Text

from kindling.context import console, fail
from kindling.options import PrincipleKind, parse_run
from kindling.outputs import check_output_file, write_text
from kindling.store.principle_io import (
    PrincipleFormatError,
    PrincipleSet,
    from_yaml_text,
    read_principle_file,
    to_yaml,
)

if TYPE_CHECKING:
    from kindling.store.db import Store
    from kindling.store.models import PrincipleVersion

app = typer.Typer(help="Principle versions (Path B's S_D and S_G, and judge rules).", no_args_is_help=True)

EDIT_HEADER = (
    "# Edit the rules (one list item per rule) and save; quit without saving to cancel.\n"
    "# Saving a change stores a new version whose parent is version {id}; kind cannot change.\n"
)


def _version(store: Store, version_id: int) -> PrincipleVersion:
    from kindling.store.principles import PrincipleNotFound, get_version

    try:
        return get_version(store, version_id)
    except PrincipleNotFound as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


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
) -> None:
    """Versions with lineage, origin, run/iteration, active flag and validation metrics."""
    from kindling.store.principles import list_versions

    table = Table(title="principle versions",
                  caption="accuracy, F1: validation; (in brackets) the length-only baseline")
    for col in ("id", "kind", "name", "origin", "parent", "run", "iter", "active",
                "accuracy", "F1", "created"):
        table.add_column(col, overflow="fold")
    for v in list_versions(ctx.obj.open_store(writes=False), kind, run):
        table.add_row(
            str(v.id), v.kind, v.name, v.origin, str(v.parent_id or "-"), str(v.run_id or "-"),
            "-" if v.iteration is None else str(v.iteration), "*" if v.active else "",
            _with_baseline(v, "accuracy"), _with_baseline(v, "f1"),
            f"{v.created_at:%m-%d %H:%M}")
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, version_id: int = typer.Argument(..., help="Version id.")) -> None:
    """The rules, numbered, with lineage, origin, run/iteration, feedback and metrics."""
    from kindling.store.principles import lineage, rules_of

    store = ctx.obj.open_store(writes=False)
    v = _version(store, version_id)
    chain = " ← ".join(f"{a.id} ({a.origin})" for a in lineage(store, version_id))
    console.print(f"[bold]principle version {v.id}[/] kind={v.kind} name={v.name} "
                  f"origin={v.origin} active={'yes' if v.active else 'no'}", highlight=False)
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
    from kindling.store.principles import best_version, lineage, versions_diff

    store = ctx.obj.open_store(writes=False)
    if best == (a is not None or b is not None) or (not best and b is None):
        fail("give two version ids, or --best")
    if not best and (kind is not None or run is not None):
        fail("--kind and --run only go with --best")
    if best:
        chosen = best_version(store, kind or "detector", run)
        if chosen is None:
            fail(f"no {kind or 'detector'} version has validation metrics"
                 + (f" in run {run}" if run is not None else ""))
            return
        first, second = lineage(store, chosen.id)[-1], chosen
        a, b = first.id, chosen.id
        if a == b:
            console.print(f"the best {chosen.kind} version is {a}, a starting version: no "
                          "revision of it validated better")
            return
    else:
        first, second = _version(store, a), _version(store, b)
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
) -> None:
    """Make one version the active version of its kind (the others of that kind become inactive).

    `--best` refuses, without --force, a version that is no better on validation than the version
    Path B started from, or than the length-only rule on the same items."""
    from kindling.store.principles import (
        PrincipleNotFound,
        activate,
        activation_doubts,
        best_version,
        metric,
    )

    store = ctx.obj.open_store()
    if best == (version_id is not None):
        fail("give either a version id or --best")
    if not best and (kind is not None or run is not None):
        fail("--kind and --run only go with --best")
    if best:
        chosen = best_version(store, kind or "detector", run)
        if chosen is None:
            where = f" in run {run}" if run is not None else ""
            fail(f"no {kind or 'detector'} version{where} has a validation F1 metric")
            return
        version_id = chosen.id
        doubts = activation_doubts(store, chosen)
        if doubts and not force:
            fail(f"not activated: the best {chosen.kind} version is {chosen.id}, but "
                 + "; ".join(doubts) + " (give --force to activate it anyway)")
        for doubt in doubts:
            console.print(f"[yellow]warning:[/] {doubt}", highlight=False)
    elif force:
        fail("--force only goes with --best")
    try:
        v = activate(store, version_id)
    except PrincipleNotFound as exc:
        fail(str(exc))
        return
    f1 = metric(v, "f1")
    console.print(f"activated {v.kind} version {v.id} ({v.name})"
                  + (f", validation F1 {f1:.3f}" if f1 is not None else ""), highlight=False)


@app.command("export")
def export(
    ctx: typer.Context,
    version_id: int = typer.Argument(..., help="Version id."),
    out: Path = typer.Option(..., "--out", help="YAML file to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the file if it exists."),
) -> None:
    """Write a version as YAML (loadable by `import` and by `--principles PATH`)."""
    from kindling.store.principles import rules_of

    check_output_file(out, overwrite=overwrite)
    v = _version(ctx.obj.open_store(writes=False), version_id)
    write_text(out, to_yaml(v))
    console.print(f"wrote version {v.id} ({len(rules_of(v))} rules) to {out}", highlight=False)


def _store_draft(store: Store, draft: PrincipleSet, parent_id: int | None,
                 feedback: str) -> tuple[int, bool]:
    from kindling.store.principles import add_version

    vid, created = add_version(store, kind=draft.kind, name=draft.name, text=draft.text,
                               origin="manual", parent_id=parent_id, feedback=feedback)
    if created:
        console.print(f"created {draft.kind} version {vid} ({len(draft.rules)} rules)",
                      highlight=False)
    else:
        console.print(f"these rules already exist as {draft.kind} version {vid}; nothing written",
                      highlight=False)
    return vid, created


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="YAML file with name, kind and rules."),
    name: str = typer.Option(None, help="Name of the new version (default: the file's name field)."),
    parent: int = typer.Option(None, help="Record this version as the parent (same kind)."),
) -> None:
    """Store a principle set from YAML as a new version (origin manual)."""
    try:
        text = read_principle_file(path)
        draft = from_yaml_text(text, str(path), name=name, default_name=path.stem)
    except PrincipleFormatError as exc:
        fail(str(exc))
        return
    store = ctx.obj.open_store()
    if parent is not None and _version(store, parent).kind != draft.kind:
        fail(f"--parent {parent} is not a {draft.kind} version")
    _store_draft(store, draft, parent, feedback=f"imported from {path.name}")


def _editor_command() -> list[str]:
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    return shlex.split(editor)


@app.command("edit")
def edit(
    ctx: typer.Context,
    version_id: int = typer.Argument(..., help="Version to start from (the new version's parent)."),
    activate_new: bool = typer.Option(False, "--activate", help="Also make the new version active."),
) -> None:
    """Edit a version in $EDITOR (or $VISUAL, else vi); a change is stored as a new version."""
    from kindling.store.principles import activate, rules_of

    store = ctx.obj.open_store()
    v = _version(store, version_id)
    handle, name = tempfile.mkstemp(prefix=f"kindling-principles-{v.id}-", suffix=".yaml")
    tmp = Path(name)
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        f.write(EDIT_HEADER.format(id=v.id) + to_yaml(v))
    try:
        code = subprocess.call([*_editor_command(), str(tmp)])
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"cannot start the editor ({exc}); set EDITOR")
        return
    if code != 0:
        tmp.unlink(missing_ok=True)
        fail(f"the editor exited with status {code}; nothing written")
    try:
        draft = from_yaml_text(read_principle_file(tmp), str(tmp), default_name=v.name)
    except PrincipleFormatError as exc:
        fail(f"{exc}\nnothing written; your edit is kept in {tmp}")
        return
    if draft.kind != v.kind:
        fail(f"{tmp}: field kind: cannot change from {v.kind} to {draft.kind} in edit "
             f"(use import); nothing written; your edit is kept in {tmp}")
    tmp.unlink(missing_ok=True)
    if draft.text == "\n".join(rule.strip() for rule in rules_of(v)):
        console.print(f"no change to version {v.id}; nothing written", highlight=False)
        return
    new_id, _ = _store_draft(store, draft, v.id, feedback=f"edited from version {v.id}")
    if activate_new:
        activate(store, new_id)
        console.print(f"activated {v.kind} version {new_id}", highlight=False)
