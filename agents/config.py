"""Config machinery every layer shares: strict pydantic models, YAML then dotted overrides, errors that name file and field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from kindling.agents.paths import config_base, model_in, resolve_dotted, resolve_paths
from kindling.store import yaml_io
from kindling.store.errors import UserError
from kindling.store.text_checks import find_invalid_text
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(UserError):
    """A config file or override that cannot be used; the message names file and field."""


RENAMED_KEYS = {"agents": "llm"}
"""Top-level keys an earlier Kindling used → their name now (reported, never guessed)."""


class Strict(BaseModel):
    # numbers given where a string belongs (--set detector_principles=12) are read as text
    model_config = ConfigDict(extra="forbid", validate_assignment=True, coerce_numbers_to_str=True)


YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})
"""Words YAML 1.1 reads as booleans; on the command line they stay strings (save_strategy=no)."""


def parse_value(text: str) -> Any:
    """A command-line value parsed as YAML (numbers, true/false, null, lists, mappings), except
    that YAML 1.1's yes/no/on/off stay strings.

    Raises:
        ConfigError: the value is not valid YAML (e.g. an unclosed `[`), or not valid Unicode
            (a lone surrogate: an escape such as "\\ud800", or bytes that are not UTF-8).
    """
    if text.strip().lower() in YAML11_WORDS:
        value: Any = text
    else:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"value {text!r} is not valid YAML ({problem}); quote it to pass "
                              "it as text") from exc
    if (bad := find_invalid_text(value)) is not None:
        raise ConfigError(f"value {text!r} is not valid Unicode (a lone surrogate {bad[1]})")
    return value


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """`--set a.b=value` pairs (value parsed as YAML: numbers, booleans, null; yes/no stay words).

    Raises:
        ConfigError: a pair without `=` or with an empty key, or a value that is not YAML.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair}: expected key=value")
        try:
            out[key.strip()] = parse_value(value)
        except ConfigError as exc:
            raise ConfigError(f"--set {key.strip()}: {exc}") from exc
    return out


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested mappings, making sections that are absent or null in the YAML.

    Raises:
        ConfigError: a key on the way holds a value, not a section.
    """
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        if node.get(key) is None:  # absent or null in the YAML (e.g. `lora: null`)
            node[key] = {}
        node = node[key]
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted}: {key} is not a section")
    node[keys[-1]] = value


def read_yaml_mapping(path: Path, what: str = "a mapping") -> dict[str, Any]:
    """A config file's top-level mapping (an empty file: {}).

    Raises:
        ConfigError: the file cannot be read or parsed, or its top level is not a mapping.
    """
    return yaml_io.read_yaml_mapping(path, "config", ConfigError, shape=what)


def load_config(model: type[Strict], path: Path | None, overrides: dict[str, Any],
                overrides_base: Path | None = None) -> Any:
    """Read YAML (if given), apply dotted overrides (CLI flags win), validate strictly.

    Path-valued fields (agents/paths.py) resolve: the file's against its folder (`config_base`),
    the overrides' against `overrides_base` (default: the current folder).

    Raises:
        ConfigError: unreadable YAML, unknown keys, or invalid values, naming file and field.
    """
    data: dict[str, Any] = {}
    where = str(path) if path else "command line"
    if path is not None:
        data = resolve_paths(model, read_yaml_mapping(path), config_base(path))
    given = [key for key, value in overrides.items() if value is not None]
    for key in given:
        set_dotted(data, key, resolve_dotted(model, key, overrides[key],
                                             overrides_base or Path.cwd()))
    _check_renamed(model, data, where, given)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [error_line(model, e, where, given) for e in exc.errors()]
        raise ConfigError("; ".join(lines)) from exc


def _check_renamed(model: type[BaseModel], data: dict[str, Any], where: str,
                   overrides: list[str]) -> None:
    for old, new in RENAMED_KEYS.items():
        if old in data and old not in model.model_fields and new in model.model_fields:
            flag = next((k for k in overrides if k.split(".")[0] == old), None)
            at = f"--set {flag}" if flag else f"{where}: field {old}"
            raise ConfigError(f"{at}: the section is now called {new} (the chat model is `{new}:` "
                              "in every config)")


def error_line(model: type[BaseModel], error: Any, where: str, overrides: Iterable[str]) -> str:
    """One validation error, against the flag that set the field (`--set a.b`) or the file, with
    a did-you-mean for an unknown key."""
    loc = tuple(map(str, error["loc"]))
    dotted = ".".join(loc)
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key" + did_you_mean(loc[-1], fields_at(model, loc[:-1]),
                                               prefix=".".join(loc[:-1]))
    flag = next((k for k in overrides if k == dotted or k.startswith(dotted + ".")), None)
    if flag is not None:
        return f"--set {flag}: {field_of(loc) if flag != dotted else ''}{message}"
    return f"{where}: {field_of(loc)}{message}"


def did_you_mean(name: str, known: Iterable[str], prefix: str = "") -> str:
    """` (did you mean a.b?)` for the closest known name, else ` (known: ...)` for a short list."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {prefix + '.' if prefix else ''}{close[0]}?)"
    return f" (known: {', '.join(known)})" if 0 < len(known) <= 12 else ""


def fields_at(model: type[BaseModel], path: tuple[str, ...]) -> list[str]:
    """The field names of the (nested) model at `path`; [] where the path leaves the models."""
    for key in path:
        field = model.model_fields.get(key)
        sub = model_in(field.annotation) if field is not None else None
        if sub is None:
            return []
        model = sub
    return list(model.model_fields)


def field_of(loc: tuple[Any, ...]) -> str:
    """`field a.b: ` for a field's error; nothing for a rule across fields (empty location)."""
    return f"field {'.'.join(map(str, loc))}: " if loc else ""
