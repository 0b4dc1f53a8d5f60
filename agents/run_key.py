"""What identifies a run for resuming: its config, less the fields that do not change its results.

A command run again with the same config finds its run by a hash of these fields (the run key)
and resumes it. A config model leaves fields out with two class attributes, at any depth:
`RUN_KEY_OMITS` (never part of the key: how fast the same prompts are answered) and
`RUN_KEY_DEFAULTS` (field → the value every run before the field existed implied; the field is
part of the key only when it holds another value, so those runs keep their keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel


def key_fields(cfg: BaseModel, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """`cfg.model_dump()` without the top-level fields `exclude` names and without what each
    model in it declares in `RUN_KEY_OMITS` and `RUN_KEY_DEFAULTS`."""
    data = cfg.model_dump(exclude=set(exclude))
    _prune(cfg, data)
    return data


def _prune(model: BaseModel, data: dict[str, Any]) -> None:
    omits: frozenset[str] = getattr(model, "RUN_KEY_OMITS", frozenset())
    defaults: dict[str, Any] = getattr(model, "RUN_KEY_DEFAULTS", {})
    for name in list(data):
        if name in omits or (name in defaults and data[name] == defaults[name]):
            del data[name]
            continue
        value = getattr(model, name, None)
        if isinstance(value, BaseModel) and isinstance(data[name], dict):
            _prune(value, data[name])
