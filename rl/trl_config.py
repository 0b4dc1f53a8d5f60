"""TRL's own config dataclass (SFTConfig, RewardConfig, GRPOConfig) built from a run config's
`trl:` section: unknown keys refused with the nearest field, each value checked against the field's
type, errors naming the file (or the `--set` flag) and the key."""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
import warnings
from functools import cache
from typing import Any

from kindling.agents.config import ConfigError, did_you_mean
from kindling.store.errors import UserError
from pydantic import TypeAdapter, ValidationError

TRL_CONFIG_NAMES: dict[str, str] = {"sft": "SFTConfig", "rm": "RewardConfig", "grpo": "GRPOConfig"}
"""TRL's config class per run type."""


def trl_config_class(kind: str) -> type:
    """TRL's config dataclass for a run type (imported lazily: `trl` is slow to import)."""
    import trl

    return typing.cast(type, getattr(trl, TRL_CONFIG_NAMES[kind]))


RENAMED_BY_TRANSFORMERS = "`gradient_checkpointing` is deprecated"

FIELD_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GRPOConfig", "loss_type"): ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo"),
    ("GRPOConfig", "multi_objective_aggregation"): ("sum_then_normalize", "normalize_then_sum"),
}
"""String fields whose values TRL 1.16 checks only once training runs (GRPOConfig takes any string;
the trainer raises at the first reward or loss): checked at config load instead, naming the values.
tests/unit/test_trl_choices.py compares them with TRL's help text and trainer code."""


def build_trl_config(cls: type, body: dict[str, Any], where: str,
                     overrides: set[str] | frozenset[str] = frozenset()) -> Any:
    """TRL's config from a dict: unknown keys rejected, values checked against the field types.

    Raises:
        ConfigError: naming `where` (or `--set trl.<key>` for an override) and the `trl.<key>`.
    """
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    body = _older_names(body, fields)
    unknown = sorted(set(body) - fields)
    if unknown:
        origin = f"--set trl.{unknown[0]}" if unknown[0] in overrides else \
            f"{where}: trl.{unknown[0]}"
        raise ConfigError(f"{origin}: not a field of TRL's {cls.__name__}"
                          + did_you_mean(unknown[0], fields, prefix="trl")
                          + (f" (also unknown: {', '.join(unknown[1:])})" if unknown[1:] else ""))
    checked = {key: _check_value(cls, key, value, f"--set trl.{key}" if key in overrides
                                 else where) for key, value in body.items()}
    try:
        with warnings.catch_warnings():  # TRL's own default, not the user's: nothing to act on
            warnings.filterwarnings("ignore", RENAMED_BY_TRANSFORMERS, FutureWarning)
            return cls(**checked)
    except (ValueError, TypeError) as exc:
        key = _key_in_message(str(exc), checked) or _first_failing_key(cls, checked)
        named = f"trl.{key}" if key else f"trl ({', '.join(sorted(checked))})"
        at = f"--set {named}" if key in overrides else f"{where}: {named}"
        raise ConfigError(f"{at}: {exc}") from exc


def build_trainer(trainer_cls: type, **kwargs: Any) -> Any:
    """TRL's trainer. Building it, TRL checks the run's `trl:` values together (with the model and
    data) and raises ValueError for a combination it refuses: the one place that reaches
    Kindling, so it becomes a ConfigError here (message unchanged); ours pass as they are.

    Raises:
        ConfigError: TRL refused the trainer's arguments.
    """
    try:
        return trainer_cls(**kwargs)
    except UserError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


OLDER_NAMES = {"activation_checkpointing": "gradient_checkpointing",
               "activation_checkpointing_kwargs": "gradient_checkpointing_kwargs"}
"""transformers 5.2x renamed these; an older transformers 5 knows only the old name."""


def _older_names(body: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """The config with a renamed key given its old name where this transformers lacks the new one
    (configs/paper.yaml uses the new names and must load on e.g. transformers 5.17 too)."""
    return {OLDER_NAMES[k] if k not in fields and OLDER_NAMES.get(k) in fields else k: v
            for k, v in body.items()}


@cache
def _adapter(cls: type, key: str) -> TypeAdapter[Any] | None:
    try:
        return TypeAdapter(typing.get_type_hints(cls)[key])
    except Exception:  # noqa: BLE001 - a field type pydantic cannot check is passed through
        return None


def _check_value(cls: type, key: str, value: Any, where: str) -> Any:
    adapter = _adapter(cls, key)
    if adapter is None or value is None:
        return value
    at = where if where == f"--set trl.{key}" else f"{where}: trl.{key}"
    try:
        checked = adapter.validate_python(value)
    except ValidationError as exc:
        raise ConfigError(f"{at}: {exc.errors()[0]['msg']} (got {value!r})") from exc
    choices = FIELD_CHOICES.get((cls.__name__, key))
    if choices is not None and checked not in choices:
        close = difflib.get_close_matches(str(checked), choices, n=1, cutoff=0.6)
        raise ConfigError(f"{at}: {checked!r} is not one of TRL's {cls.__name__}.{key} values: "
                          + ", ".join(choices) + (f" (did you mean {close[0]}?)" if close else ""))
    return checked


def _key_in_message(message: str, body: dict[str, Any]) -> str | None:
    for key in sorted(body, key=len, reverse=True):
        if re.search(rf"\b{re.escape(key)}\b", message):
            return key
    return None


def _first_failing_key(cls: type, body: dict[str, Any]) -> str | None:
    """The first key without which TRL's checks pass (they run in __post_init__, not per field)."""
    for key in body:
        try:
            cls(**{k: v for k, v in body.items() if k != key})
        except (ValueError, TypeError):
            continue
        return key
    return None
