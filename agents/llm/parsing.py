"""Tolerant parsing of model output into a role's schema: fences, chatter, near-JSON."""

from __future__ import annotations

import json
import re
from typing import TypeVar

import json_repair
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class OutputParseError(ValueError):
    """The output holds no JSON object that validates against the schema."""


def _candidates(raw: str) -> list[str]:
    """Pieces of the text that may hold the JSON object, most likely first."""
    text = raw.strip()
    found = [text]
    found += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        found.append(text[start : end + 1])
    if start != -1:
        found.append(text[start:])
    return found


def _load_object(piece: str) -> dict | None:
    try:
        value = json.loads(piece)
    except json.JSONDecodeError:
        if "{" not in piece:
            return None
        value = json_repair.loads(piece)
    return value if isinstance(value, dict) and value else None


def parse_output(raw: str, schema: type[T]) -> T:
    """Parse `raw` into `schema`, tolerating code fences, chatter and repairable JSON.

    Raises:
        OutputParseError: with the validation or decoding problem, suitable to re-ask the model.
    """
    last_error = "no JSON object found in the output"
    for piece in _candidates(raw):
        obj = _load_object(piece)
        if obj is None:
            continue
        try:
            return schema.model_validate(obj)
        except ValidationError as exc:
            last_error = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'object'}: {e['msg']}" for e in exc.errors()
            )
    raise OutputParseError(last_error)
