"""Path-valued config fields: how they are marked and how their values resolve.

A field holding a path is typed with one of the markers below (`PathStr`, `ModelRef`,
`LocalModelRef`, `PrincipleRef`); nothing else is ever read as a path. Values resolve to absolute
paths when a config is loaded, so what a run stores is absolute:

- a value written in a config file resolves against the file's folder (`config_base`);
- a value given on the command line (`--set`, options) resolves against the current folder;
- a config used straight from the installed package (under `shipped_configs()`) resolves as if it
  sat in `./configs` of the current folder, so nothing is ever written inside the package.

What counts as a path depends on the marker:

- `PathStr`: always a path (output folders, data folders, workdirs).
- `ModelRef`: a hub id or a folder. It is read as a folder only when it starts with `./` or `../`
  or names something that exists (relative to the base); otherwise it stays as written, so
  `HuggingFaceTB/SmolLM2-135M-Instruct`, `smollm2`, `tiny` and `run:ID` are kept.
- `LocalModelRef`: as `ModelRef`, but only for a chat model with `backend: local` (an endpoint's
  model name is never a path).
- `PrincipleRef`: a version id (digits), a name under prompts/principles/ (kept), or a YAML path
  (a value with a file suffix or a slash).
- `TaskPath` (agents/task_ref.py's `TaskRef`): a task's name (kept: a built-in task or one under
  ./tasks/) or a folder (a value with a slash or a leading dot).
"""

from __future__ import annotations

import os
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel


class PathRule(Enum):
    """How a field's value is read as a path (see the module's docstring)."""

    PATH = "path"
    MODEL = "model"
    LOCAL_MODEL = "local_model"
    PRINCIPLES = "principles"
    TASK = "task"


PathStr = Annotated[str, PathRule.PATH]
ModelRef = Annotated[str, PathRule.MODEL]
LocalModelRef = Annotated[str, PathRule.LOCAL_MODEL]
PrincipleRef = Annotated[str, PathRule.PRINCIPLES]
TaskPath = Annotated[str, PathRule.TASK]

EXPLICIT_PREFIXES = ("./", "../", ".\\", "..\\")


def config_base(path: Path) -> Path:
    """The folder a config file's relative paths resolve against: its own folder, or for a config
    shipped inside the package, `./configs` of the current folder (as if `kindling init` had
    copied it there: `../runs/x` lands in `./runs/x`, never inside the package)."""
    from kindling.configs import shipped_configs

    folder = Path(os.path.abspath(path)).parent
    shipped = Path(os.path.abspath(shipped_configs()))
    if folder == shipped or shipped in folder.parents:
        return Path.cwd() / "configs" / folder.relative_to(shipped)
    return folder


def resolve_value(rule: PathRule, value: Any, base: Path) -> Any:
    """`value` resolved against `base` under `rule`; anything not a path is returned as it is."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value or os.path.isabs(value):
        return value
    if rule is PathRule.PATH or _is_path(rule, value, base):
        return os.path.normpath(base / value)
    return value


def stored_model(value: str | None) -> str | None:
    """A model given on the command line as a run records it: a folder (by the `ModelRef` rule,
    from the current folder) absolute, a hub id as it is."""
    return resolve_value(PathRule.MODEL, value, Path.cwd())


def _is_path(rule: PathRule, value: str, base: Path) -> bool:
    if rule in (PathRule.MODEL, PathRule.LOCAL_MODEL):
        return value.startswith(EXPLICIT_PREFIXES) or (base / value).exists()
    if rule is PathRule.PRINCIPLES:
        return not value.isdigit() and (bool(Path(value).suffix) or "/" in value or "\\" in value)
    if rule is PathRule.TASK:
        return "/" in value or "\\" in value or value.startswith(".")
    return True


def resolve_paths(model: type[BaseModel], data: Any, base: Path) -> Any:
    """A copy of the raw mapping `data` (as read from YAML, for `model`) with every path-valued
    field resolved against `base`; values of the wrong shape are left for validation to name."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is not None:
            out[key] = _resolve_field(field.annotation, field.metadata, value, base, data)
    return out


def resolve_dotted(model: type[BaseModel], dotted: str, value: Any, base: Path) -> Any:
    """An override's value (`dotted` names the field under `model`) resolved against `base`."""
    *parents, last = dotted.split(".")
    for key in parents:
        field = model.model_fields.get(key)
        sub = model_in(field.annotation) if field is not None else None
        if sub is None:
            return value
        model = sub
    field = model.model_fields.get(last)
    if field is None:
        return value
    return _resolve_field(field.annotation, field.metadata, value, base, {})


def _resolve_field(annotation: Any, metadata: list[Any], value: Any, base: Path,
                   siblings: dict[str, Any]) -> Any:
    rule = rule_of(annotation, metadata)
    if rule is PathRule.LOCAL_MODEL and siblings.get("backend") == "openai":
        return value
    if rule is not None:
        return resolve_value(rule, value, base)
    sub = model_in(annotation)
    if sub is not None:
        return resolve_paths(sub, value, base)
    item = _list_item_model(annotation)
    if item is not None and isinstance(value, list):
        return [resolve_paths(item, v, base) for v in value]
    return value


def rule_of(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> PathRule | None:
    """The path rule a field's type carries (in `X`, `X | None`), or None: not a path."""
    found = next((m for m in metadata if isinstance(m, PathRule)), None)
    if found is not None:
        return found
    if typing.get_origin(annotation) is Annotated:
        return rule_of(None, annotation.__metadata__)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next((r for a in typing.get_args(annotation) if (r := rule_of(a))), None)
    return None


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model in `M`, `M | None` or `Optional[M]` (else None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next((m for a in typing.get_args(annotation) if (m := model_in(a))), None)
    return None


def _list_item_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is list:
        args = typing.get_args(annotation)
        return model_in(args[0]) if args else None
    return None
