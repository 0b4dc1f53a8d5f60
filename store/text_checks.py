"""Text that is not valid Unicode: a lone UTF-16 surrogate, which a JSON or YAML escape such as
`\\ud800` decodes to, cannot be encoded, hashed or stored; it is found where a file is read and
reported with its field, never met later as a traceback."""

from __future__ import annotations

from typing import Any

from kindling.store.errors import UserError


def lone_surrogate(value: str) -> str | None:
    """Where `value` is not valid Unicode (a lone UTF-16 surrogate, as a JSON or YAML escape
    such as \\ud800 can make): `U+D800 at character 3`; None when it is valid."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"U+{ord(value[exc.start]):04X} at character {exc.start + 1}"
    return None


def find_invalid_text(value: Any, where: str = "") -> tuple[str, str] | None:
    """The first string in a parsed YAML/JSON value that is not valid Unicode, as (dotted field,
    position), looking at keys and values; None when every string is valid."""
    if isinstance(value, str):
        bad = lone_surrogate(value)
        return (where or "(top level)", bad) if bad else None
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = []
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and (bad := lone_surrogate(key)):
                return name, bad
            items.append((name, item))
    elif isinstance(value, list):
        items = [(f"{where}[{i}]", item) for i, item in enumerate(value)]
    else:
        return None
    return next((found for name, item in items if (found := find_invalid_text(item, name))),
                None)


def check_valid_text(value: Any, source: str, error: type[UserError] = UserError) -> None:
    """Refuse a parsed document holding text that is not valid Unicode.

    Raises:
        error: `source: field F: not valid Unicode (a lone surrogate U+D800 at character 3)`.
    """
    found = find_invalid_text(value)
    if found is not None:
        raise error(f"{source}: field {found[0]}: not valid Unicode (a lone surrogate "
                    f"{found[1]}); write the character itself or a valid escape pair")
