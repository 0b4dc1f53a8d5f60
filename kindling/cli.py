"""The `kindling` command line (typer + rich)."""

from __future__ import annotations

import typer

from kindling.commands import (
    adversarial,
    curate,
    data,
    eval_policy,
    eval_rm,
    evaluate,
    graph,
    judge,
    model,
    pairs,
    principles,
    quickstart,
    runs,
    studio,
    train,
)
from kindling.context import AppState

app = typer.Typer(
    help="Kindling: multi-agent curation, principle-guided judges and TRL training for creative writing.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data")
app.command("curate")(curate.curate)
app.command("judge")(judge.judge)
app.command("adversarial")(adversarial.adversarial)
app.command("quickstart")(quickstart.quickstart)
app.add_typer(pairs.app, name="pairs")
app.add_typer(runs.app, name="runs")
app.add_typer(principles.app, name="principles")
evaluate.app.command("rm")(eval_rm.rm)
evaluate.app.command("policy")(eval_policy.policy)
app.add_typer(evaluate.app, name="eval")
app.add_typer(model.app, name="model")
app.add_typer(train.app, name="train")
app.add_typer(graph.app, name="graph")
app.command("studio")(studio.studio)


@app.callback()
def main(
    ctx: typer.Context,
    db_url: str = typer.Option(
        None, "--db-url", envvar="KINDLING_DB_URL",
        help="Store URL (sqlite:///file.db or postgresql://user@host/db). Default: sqlite:///kindling.db.",
    ),
) -> None:
    """Every command reads the store URL the same way: --db-url, else KINDLING_DB_URL, else ./kindling.db."""
    ctx.obj = AppState(db_url=db_url)
