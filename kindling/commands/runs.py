"""`kindling runs [show ID]`: list runs with status and counts, or show one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from kindling.context import console, fail
from kindling.options import RunKind, parse_run

if TYPE_CHECKING:
    from kindling.store.costs import RunCost
    from kindling.store.db import Store
    from kindling.store.models import Run

app = typer.Typer(help="List runs, or show one run.", invoke_without_command=True)


@app.callback()
def runs(
    ctx: typer.Context,
    kind: RunKind = typer.Option(None, help="Only runs of this kind."),
    limit: int = typer.Option(50, help="Most recent N runs."),
) -> None:
    """List runs, newest first."""
    from kindling.store.reports import list_runs
    from kindling.store.run_liveness import shown_status
    from kindling.store.run_summary import debug_marks

    if ctx.invoked_subcommand is not None:
        return
    if limit < 1:
        fail(f"--limit {limit}: must be at least 1")
    table = Table(title="runs")
    table.add_column("id", justify="right")
    for col in ("kind", "name", "status", "started"):
        table.add_column(col, min_width=10 if col == "name" else None)
    table.add_column("done/items", justify="right")
    table.add_column("pairs", justify="right")
    for r in list_runs(ctx.obj.open_store(writes=False), limit, kind):
        run = r["run"]
        marks = debug_marks(run.config or {})
        name = escape(run.name or "") + (f" [yellow]({'; '.join(marks)})[/]" if marks else "")
        items = (f"{r['done']}/{r['items']}" + (f", {r['failed']} failed" if r["failed"] else "")
                 if r["items"] else "")
        table.add_row(str(run.id), run.kind, name, shown_status(run),
                      f"{run.started_at:%m-%d %H:%M}",
                      items, str(r["pairs"]) if r["pairs"] else "")
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, run_id: int = typer.Argument(..., parser=parse_run, metavar="RUN", help="The run (`kindling runs` lists them)."),
         full: bool = typer.Option(False, "--full", help="Print the whole stored config and metrics (every TRL setting, every logged step) as YAML."),
         prices: Path | None = typer.Option(None, "--prices", metavar="FILE", help="A prices.yaml merged over the shipped one, ./configs/prices.yaml (if there is one) and the run's budget.prices.")) -> None:
    """A run's summary (what ran, on what, key figures, outputs), item counts, verdicts and
    agent-call statistics (a GRPO run's verdict first); --full for the whole stored config and
    metrics."""
    from kindling.store.refs import no_run_message
    from kindling.store.reports import call_stats, get_run, verdict_stats
    from kindling.store.run_liveness import shown_status
    from kindling.store.run_summary import run_summary
    from kindling.store.work import item_counts
    from kindling.views import call_table, cost_table

    store = ctx.obj.open_store(writes=False)
    run = get_run(store, run_id)
    if run is None:
        fail(no_run_message(store, run_id))
        return
    if full:
        console.print(f"[bold]run {run.id}[/] kind={run.kind} name={run.name or '-'} "
                      f"status={shown_status(run)} code={run.code_version}")
        console.print(yaml.safe_dump({"config": run.config, "metrics": run.metrics},
                                     allow_unicode=True, sort_keys=False), markup=False)
        return
    if run.kind == "grpo":
        _print_verdict(run)
    counts = item_counts(store, run_id) if run.kind == "curate" else None
    summary = Table(show_header=False, box=None)
    for label, value in run_summary(run, counts):
        summary.add_row(f"[bold]{label}[/]", escape(value))
    console.print(summary)
    console.print(f"[dim]kindling runs show {run_id} --full: the whole config and metrics[/]")
    if run.kind == "curate":
        counts = {f"items {k}": v for k, v in item_counts(store, run_id).items()}
        counts |= {f"verdicts {k}": v for k, v in verdict_stats(store, run_id).items()}
        table = Table(title=f"curate run {run_id}", show_header=False)
        for label, value in counts.items():
            table.add_row(label, str(value))
        console.print(table)
    cost = _run_cost(store, run, prices)
    if run.kind == "curate":
        console.print(call_table(call_stats(store, run_id), cost))
    elif cost is not None:
        console.print(cost_table(cost, run_id))
    if cost is not None:
        _print_cost_notes(cost)


def _print_verdict(run: Run) -> None:
    """A GRPO run's verdict first: what happened, trouble in red (the studio shows the same,
    with the completions kept at each step)."""
    from kindling.services.grpo_verdict import grpo_verdict
    from kindling.services.grpo_verdict_text import headline, verdict_lines

    verdict = grpo_verdict(run.metrics or {}, run.config or {})
    console.print(f"[bold]What happened:[/] {escape(headline(verdict))}", highlight=False)
    for line in verdict_lines(verdict):
        console.print(f"{'[red]' if line.bad else ''}• {escape(line.text)}"
                      f"{'[/]' if line.bad else ''}", highlight=False)
    console.print("[dim]kindling studio: what the policy wrote at each logged step[/]")


def _run_cost(store: Store, run: Run, prices: Path | None) -> RunCost | None:
    """The run's cost per role (None when it has no agent calls), priced with the shipped table,
    ./configs/prices.yaml if there is one, the run's budget.prices, and `--prices FILE` over them."""
    from kindling.configs import shipped_configs
    from kindling.store.costs import run_cost
    from kindling.store.prices import PRICES_FILE, prices_for_run

    table = prices_for_run(shipped_configs() / PRICES_FILE, run.config or {},
                           Path("configs") / PRICES_FILE, prices)
    cost = run_cost(store, run.id, table)
    return cost if cost.roles else None


def _print_cost_notes(cost: RunCost) -> None:
    from kindling.views import money

    total = ("no total (prices in more than one currency)" if cost.mixed_currencies
             else money(cost.total, cost.currency))
    unreported = any(r.cached_tokens is None and r.cost for r in cost.roles)
    bound = (" [dim](an upper bound: cached input was not reported for every role, and is "
             "priced as input there)[/]" if cost.total and unreported else "")
    console.print(f"cost in all: {total}{bound}")
    for model in sorted(cost.unpriced):
        console.print(f"no price for model {model} (add it to prices.yaml)", markup=False)
