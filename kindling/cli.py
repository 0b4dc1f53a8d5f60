"""The `kindling` command line (typer + rich)."""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from kindling.commands import (
    adversarial,
    curate,
    data,
    endpoint,
    eval_policy,
    eval_rm,
    evaluate,
    experiment,
    experiment_step,
    graph,
    init,
    judge,
    model,
    pairs,
    principle_files,
    principles,
    quickstart,
    runs,
    studio,
    task,
    train,
)
from kindling.config_flags import ConfigFlagCommand, typer_params
from kindling.context import AppState, fail, set_current_state
from kindling.signals import sigterm_as_interrupt
from kindling.store.errors import UserError

DEBUG_ENV = "KINDLING_DEBUG"


DB_URL_HELP = ("Store URL (sqlite:///file.db or postgresql://user@host/db). Default: "
               "KINDLING_DB_URL, else sqlite:///kindling.db.")


def _db_url_given(ctx: typer.Context, value: str | None) -> None:
    """A command's own --db-url wins over the one given before it (or the environment's)."""
    if value is not None:
        ctx.find_root().obj.db_url = value


def _eager_option(name: str, annotation: type, option: Any) -> Any:
    """A click option built by typer, eager (its callback runs before the command's other
    parameters are read)."""
    [param] = typer_params([inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                              default=option, annotation=annotation)])
    param.is_eager = True
    return param


def _db_url_param() -> Any:
    """The `--db-url` option every command takes (eager: before a run given by name is looked
    up in the store it names)."""
    return _eager_option("db_url", str, typer.Option(None, "--db-url", help=DB_URL_HELP,
                                                     callback=_db_url_given, expose_value=False))


VERBOSE_HELP = "Show the libraries' progress bars, load reports and deprecation warnings (off by default; also KINDLING_VERBOSE=1)."


def _verbose_given(ctx: typer.Context, value: bool) -> None:
    if value:
        from kindling.quiet import set_library_noise

        set_library_noise(True)


def _verbose_param() -> Any:
    """The `--verbose` option every command takes."""
    return _eager_option("verbose", bool, typer.Option(False, "--verbose", help=VERBOSE_HELP,
                                                       callback=_verbose_given,
                                                       expose_value=False))


def _add_to_commands(group: Any, param: Any, flag: str) -> None:
    """Give every command and group below `group` the option `param` (unless it has its own
    `flag`): `kindling runs --db-url URL` and `kindling data --db-url URL stats` work too."""
    for command in group.commands.values():
        if hasattr(command, "commands"):
            _add_to_commands(command, param, flag)
        if not any(flag in p.opts for p in command.params):
            command.params.append(param)


class KindlingGroup(TyperGroup):
    """The root command: what the user can fix is reported as one line with exit status 2.

    `UserError`s (bad input, locations, stores), bad flag values, database errors (a store that
    went away or is read-only) and OS errors on a named file become `error: ...`; other
    exceptions are bugs and keep their traceback. KINDLING_DEBUG=1 shows the traceback for every
    error.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_to_commands(self, _db_url_param(), "--db-url")
        _add_to_commands(self, _verbose_param(), "--verbose")

    def invoke(self, ctx: Any) -> Any:
        with sigterm_as_interrupt():  # SIGTERM cleans up as Ctrl-C does (kindling/signals.py)
            return self._invoke(ctx)

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:  # a flag's value (type, range, path kind, missing)
            where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            _report(exc.format_message() + where, exc)
        except UserError as exc:
            _report(str(exc), exc)
        except OSError as exc:
            if exc.filename is None:
                raise
            _report(f"{exc.filename}: {exc.strerror or exc}", exc)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            from kindling.store.db import describe_db_error, resolve_db_url

            db_url = ctx.obj.db_url if isinstance(ctx.obj, AppState) else None
            _report(describe_db_error(resolve_db_url(db_url), exc), exc)


def _is_database_error(exc: Exception) -> bool:
    """A SQLAlchemy DBAPIError (checked without importing SQLAlchemy: no store, no such error)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)


def _report(message: str, exc: BaseException) -> None:
    if os.environ.get(DEBUG_ENV):
        raise exc
    fail(message)


app = typer.Typer(
    cls=KindlingGroup,
    help="Kindling: multi-agent curation, principle-guided judges and TRL training for creative writing.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("init")(init.init)
app.add_typer(data.app, name="data")
app.command("curate", cls=ConfigFlagCommand)(curate.curate)
app.command("judge", cls=ConfigFlagCommand)(judge.judge)
app.command("adversarial", cls=ConfigFlagCommand)(adversarial.adversarial)
app.command("quickstart")(quickstart.quickstart)
experiment.app.command("step", hidden=True)(experiment_step.step)
app.add_typer(experiment.app, name="experiment")
app.add_typer(pairs.app, name="pairs")
app.add_typer(runs.app, name="runs")
principles.app.command("export")(principle_files.export)
principles.app.command("import")(principle_files.import_cmd)
principles.app.command("edit")(principle_files.edit)
app.add_typer(principles.app, name="principles")
evaluate.app.command("rm")(eval_rm.rm)
evaluate.app.command("policy")(eval_policy.policy)
app.add_typer(evaluate.app, name="eval")
app.add_typer(model.app, name="model")
app.add_typer(train.app, name="train")
app.add_typer(graph.app, name="graph")
app.command("studio")(studio.studio)
app.add_typer(endpoint.app, name="endpoint")
app.add_typer(task.app, name="task")


@app.callback()
def main(
    ctx: typer.Context,
    db_url: str = typer.Option(
        None, "--db-url", envvar="KINDLING_DB_URL", help=DB_URL_HELP),
    verbose: bool = typer.Option(False, "--verbose", help=VERBOSE_HELP),
) -> None:
    """Every command reads the store URL the same way: --db-url, else KINDLING_DB_URL, else ./kindling.db."""
    from kindling.quiet import set_library_noise

    set_library_noise(verbose)
    ctx.obj = AppState(db_url=db_url)
    set_current_state(ctx.obj)
