"""JSON-schema bounds for constrained decoding: clamp a schema to bounded strings and arrays, and
the most bytes an answer under the clamped schema can take (so it always closes in the budget)."""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel

MAX_ARRAY_ITEMS = 4

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = (
    "items", "additionalProperties", "additionalItems", "unevaluatedItems",
    "unevaluatedProperties", "contains", "not", "if", "then", "else", "propertyNames",
)  # fmt: skip


def _has_type(node: dict[str, Any], name: str) -> bool:
    kind = node.get("type")
    return kind == name or (isinstance(kind, list) and name in kind)


def _clamp_node(node: Any, max_chars: int, max_items: int) -> None:
    if not isinstance(node, dict):
        return
    if _has_type(node, "string"):
        node["maxLength"] = min(node.get("maxLength", max_chars), max_chars)
        if node.get("minLength", 0) > node["maxLength"]:
            node["minLength"] = node["maxLength"]
    if _has_type(node, "array") or "items" in node or "prefixItems" in node:
        node["maxItems"] = min(node.get("maxItems", max_items), max_items)
        if node.get("minItems", 0) > node["maxItems"]:
            node["minItems"] = node["maxItems"]
    for key in _SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            for sub in node[key].values():
                _clamp_node(sub, max_chars, max_items)
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            for sub in node[key]:
                _clamp_node(sub, max_chars, max_items)
    for key in _SCHEMA_ONE:
        sub = node.get(key)
        for item in sub if isinstance(sub, list) else [sub]:
            _clamp_node(item, max_chars, max_items)


def clamp_schema(
    schema: dict[str, Any], max_string_chars: int, max_items: int = MAX_ARRAY_ITEMS
) -> dict[str, Any]:
    """Return a copy of a JSON schema with every string and array bounded.

    Every ``"type": "string"`` node gets ``maxLength <= max_string_chars`` and every array gets
    ``maxItems <= max_items`` (``minLength``/``minItems`` are lowered to stay consistent), walking
    properties, items, ``$defs``, ``anyOf`` and the other sub-schema keywords.

    Args:
        schema: A JSON schema; not modified.
        max_string_chars: Upper bound for string lengths, in characters.
        max_items: Upper bound for array lengths.

    Returns:
        The clamped deep copy.
    """
    clamped = copy.deepcopy(schema)
    _clamp_node(clamped, max_string_chars, max_items)
    return clamped


def _type_bytes(
    kind: Any, node: dict[str, Any], root: dict[str, Any], seen: frozenset
) -> int | None:
    if kind == "string" and "maxLength" in node:
        return 2 + 4 * int(node["maxLength"])  # no escapes under maxLength; <= 4 UTF-8 bytes/char
    if kind in ("boolean", "null"):
        return 5 if kind == "boolean" else 4
    if kind == "integer" and "minimum" in node and "maximum" in node:
        return max(len(str(int(node["minimum"]))), len(str(int(node["maximum"]))))
    if kind == "array" and "maxItems" in node and "prefixItems" not in node:
        item = max_json_bytes(node.get("items", {}), root, seen) if node["maxItems"] else 0
        return None if item is None else 2 + node["maxItems"] * (item + 2)
    if kind == "object":
        total = 2
        for key, sub in node.get("properties", {}).items():
            size = max_json_bytes(sub, root, seen)
            if size is None:
                return None
            total += len(json.dumps(key, ensure_ascii=False).encode()) + 4 + size
        return total
    return None


def max_json_bytes(
    node: Any, root: dict[str, Any] | None = None, seen: frozenset = frozenset()
) -> int | None:
    """Upper bound on the UTF-8 size of compact JSON (``", "``/``": "``) matching a clamped schema.

    With a byte-level BPE tokenizer every generated token is at least one byte, so this also bounds
    the tokens of a grammar-constrained answer.

    Args:
        node: A (clamped) JSON schema.
        root: The document ``$ref`` pointers resolve against (defaults to ``node``).
        seen: References being expanded (recursion guard).

    Returns:
        The bound, or None when the schema admits unbounded values (numbers, recursion, ...).
    """
    root = node if root is None else root
    if not isinstance(node, dict):
        return None
    if isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            return None
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return max_json_bytes(target, root, seen | {ref})
    if "const" in node or "enum" in node:
        values = [node["const"]] if "const" in node else node["enum"]
        return max(len(json.dumps(v, ensure_ascii=False).encode()) for v in values)
    kinds = node.get("type")
    options = node.get("anyOf") or node.get("oneOf")
    sizes = (
        [max_json_bytes(sub, root, seen) for sub in options]
        if options
        else [
            _type_bytes(kind, node, root, seen)
            for kind in (kinds if isinstance(kinds, list) else [kinds])
        ]
    )
    return None if not sizes or None in sizes else max(s for s in sizes if s is not None)


def schema_of(response_format: Any) -> dict[str, Any] | None:
    """Extract the JSON schema from an OpenAI-style ``response_format`` (or a pydantic class)."""
    if response_format is None:
        return None
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):
        return response_format.model_json_schema()
    if not isinstance(response_format, dict):
        raise TypeError(f"unsupported response_format: {response_format!r}")
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema")
        if isinstance(schema, dict):
            return schema
    raise ValueError(f"unsupported response_format (need type json_schema with a schema): {kind!r}")
