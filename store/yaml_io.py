"""Reading YAML files users write (configs, principle sets): one reader, one set of messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kindling.store.bounded import MAX_CONFIG_BYTES, named, read_bounded
from kindling.store.errors import UserError
from kindling.store.text_checks import check_valid_text


def describe_yaml_error(exc: Exception) -> str:
    """A YAML parser error as one line: `problem at line L, column C`."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def read_yaml_text(path: Path, what: str, error: type[UserError] = UserError) -> str:
    """A YAML file's text: a regular file of at most `MAX_CONFIG_BYTES`, strict UTF-8.

    Raises:
        error: the file is missing, a folder, a device or FIFO, past the bound, or not UTF-8
            (the message names the file).
    """
    try:
        raw = read_bounded(path, MAX_CONFIG_BYTES, what, named(path, error))
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); save the {what} as UTF-8") \
            from exc
    except IsADirectoryError as exc:
        raise error(f"{path}: is a folder, not a YAML {what} file") from exc
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc


def read_yaml_mapping(path: Path, what: str, error: type[UserError] = UserError, *,
                      shape: str = "a mapping") -> dict[str, Any]:
    """A YAML file's top-level mapping (an empty file: {}).

    Args:
        path: the file.
        what: what the file is, for messages ("config", "principle set").
        error: the UserError subclass to raise.
        shape: what the top level must be, for the message.

    Raises:
        error: the file is missing, a folder, a device or FIFO, larger than `MAX_CONFIG_BYTES`,
            not UTF-8, not YAML, not a mapping, or holds text that is not valid Unicode (the
            message names the file).
    """
    text = read_yaml_text(path, what, error)
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {describe_yaml_error(exc)}") from exc
    if not isinstance(loaded, dict):
        raise error(f"{path}: top level must be {shape}")
    check_valid_text(loaded, str(path), error)
    return loaded
