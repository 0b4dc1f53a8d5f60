"""Run-config fields offered as flags, each declared once: in its config model.

`kindling curate --limit 10` is `limit: 10` in the run config's YAML. As TRL's HfArgumentParser
does, a command names the dotted fields it offers (`limit`, `llm.model`, `budget.max_cost`) and
each flag takes its type and help from the model's field; the values given reach the command as
the dotted overrides `load_config` applies (`config_overrides(ctx)`).

The model is imported when the command parses its arguments or shows its help, never when the
CLI is built (tests/unit/test_cli_startup.py: building every command imports no pydantic), so a
command with config flags is registered with `cls=ConfigFlagCommand`:

    @config_flags("kindling.agents.judge.config:JudgeConfig", ["samples", "llm.model"])
    def judge(ctx: typer.Context, sets: list[str] = typer.Option([], "--set", ...)) -> None:
        cfg = load_config(JudgeConfig, None, {**config_overrides(ctx), **parse_sets(sets)})

    app.command("judge", cls=ConfigFlagCommand)(judge)
"""

from __future__ import annotations

import importlib
import inspect
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import typer
from typer.core import TyperCommand
from typer.main import get_command

from kindling.options import FORCE_TASK_OPTION, TASK_OPTION

OVERRIDES_KEY = "kindling.config_overrides"
"""Where a ConfigFlagCommand leaves the config flags given, in `ctx.meta`."""


@dataclass(frozen=True)
class ConfigFlag:
    """One field of a run config offered as a flag.

    Attributes:
        path: The dotted field, as `--set` and the YAML name it (`llm.model`, `budget.max_cost`).
        decls: The flag's names (default: `--` and the field's own name, dashed: `--max-cost`).
        settings: typer.Option settings besides the help and the type (metavar, min).
        option: A typer.Option shared with commands that have no run config (`--task`): used
            as it is, with its own help.
    """

    path: str
    decls: tuple[str, ...] = ()
    settings: tuple[tuple[str, Any], ...] = ()
    option: Any = None

    @property
    def param_name(self) -> str:
        """The click parameter's name (`llm__model`)."""
        return self.path.replace(".", "__")

    def typer_option(self, field: Any) -> Any:
        """The typer.Option of this flag; `field` is the model's FieldInfo at `path`."""
        if self.option is not None:
            return self.option
        decls = self.decls or ("--" + self.path.rsplit(".", 1)[-1].replace("_", "-"),)
        return typer.Option(None, *decls, help=f"{field.description} (sets {self.path})",
                            **dict(self.settings))


def flag(path: str, *decls: str, option: Any = None, **settings: Any) -> ConfigFlag:
    """A config flag whose names or settings are not the defaults (see ConfigFlag)."""
    return ConfigFlag(path, decls, tuple(settings.items()), option)


LLM_FLAGS = ("llm.backend", "llm.model", "llm.base_url", "llm.api_key_env")
"""The chat model's flags: --backend, --model, --base-url, --api-key-env."""
MAX_COST_FLAG = flag("budget.max_cost", metavar="MONEY", min=0.0)
TASK_FLAG = flag("task", option=TASK_OPTION)
FORCE_TASK_FLAG = flag("force_task", option=FORCE_TASK_OPTION)
AGENT_RUN_FLAGS = (MAX_COST_FLAG, *LLM_FLAGS, TASK_FLAG, FORCE_TASK_FLAG)
"""What every agent run command takes: its cost cap, its model, its task."""


@dataclass(frozen=True)
class ConfigFlags:
    """The config flags of one command: its run config (`module:Class`) and the flags, listed in
    its help before its own parameter `before`."""

    model: str
    flags: tuple[ConfigFlag, ...]
    before: str

    def click_params(self) -> list[Any]:
        """The flags as click parameters, typed and described by the model's fields."""
        module, name = self.model.split(":")
        model = getattr(importlib.import_module(module), name)
        parameters = []
        for config_flag in self.flags:
            field = model_field(model, config_flag.path)
            parameters.append(inspect.Parameter(
                config_flag.param_name, inspect.Parameter.KEYWORD_ONLY,
                default=config_flag.typer_option(field), annotation=flag_type(field.annotation)))
        return typer_params(parameters)


Command = TypeVar("Command", bound=Callable[..., Any])


def config_flags(model: str, flags: Sequence[str | ConfigFlag], *,
                 before: str = "sets") -> Callable[[Command], Command]:
    """Offer fields of the run config `model` (`module:Class`) as flags of the decorated command
    (a path alone: the default flag), listed before its parameter `before`."""
    spec = ConfigFlags(model, tuple(ConfigFlag(f) if isinstance(f, str) else f for f in flags),
                       before)

    def attach(command: Command) -> Command:
        command.config_flags = spec  # type: ignore[attr-defined]  # typer's wrapper copies it
        return command

    return attach


def config_overrides(ctx: typer.Context) -> dict[str, Any]:
    """The config flags given to this command, as dotted overrides for `load_config`."""
    return dict(ctx.meta.get(OVERRIDES_KEY, {}))


class ConfigFlagCommand(TyperCommand):
    """A command with config flags (`config_flags`): they join its parameters the first time it
    parses arguments or shows its help."""

    def _spec(self) -> ConfigFlags:
        return self.callback.config_flags  # type: ignore[union-attr]

    def get_params(self, ctx: typer.Context) -> list[Any]:
        if not getattr(self, "_config_params_added", False):
            self._config_params_added = True
            at = next((i for i, p in enumerate(self.params) if p.name == self._spec().before),
                      len(self.params))
            self.params[at:at] = self._spec().click_params()
        return super().get_params(ctx)

    def invoke(self, ctx: typer.Context) -> Any:
        given = {f.path: ctx.params.pop(f.param_name) for f in self._spec().flags}
        ctx.meta[OVERRIDES_KEY] = {path: value for path, value in given.items()
                                   if value is not None}
        return super().invoke(ctx)


def model_field(model: Any, path: str) -> Any:
    """The pydantic FieldInfo at a dotted path (`llm.model`: the LLMConfig's `model`)."""
    head, _, rest = path.partition(".")
    field = model.model_fields[head]
    return model_field(_without_none(field.annotation), rest) if rest else field


def flag_type(annotation: Any) -> Any:
    """The type a flag parses: the field's, without None; str for what typer cannot parse."""
    annotation = _without_none(annotation)
    if get_origin(annotation) is Literal or annotation in (str, int, float, bool):
        return annotation
    return str


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        return kinds[0] if len(kinds) == 1 else str
    return annotation


def typer_params(parameters: list[inspect.Parameter]) -> list[Any]:
    """The click parameters typer builds for a signature of these parameters (they show and
    parse as every other option does)."""
    probe = typer.Typer()

    def _probe(**_: Any) -> None:
        """Probe."""

    _probe.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    probe.command()(_probe)
    by_name = {p.name: p for p in get_command(probe).params}
    return [by_name[p.name] for p in parameters]
