"""Where each key and list item of a YAML file is (1-based lines), so a validation error on a
field can name its line: `task.yaml:12: field advocate.dimensions.0.name: Field required`."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

Loc = tuple[str | int, ...]


class DuplicateKey(ValueError):
    """A mapping holds one key twice (YAML keeps the last one silently)."""

    def __init__(self, loc: Loc, line: int) -> None:
        super().__init__(f"key {'.'.join(map(str, loc))} given twice")
        self.loc, self.line = loc, line


def node_lines(text: str) -> dict[Loc, int]:
    """The line of each mapping key and list item in YAML `text`, by its path (`()` is line 1).

    Raises:
        yaml.YAMLError: the text is not YAML.
        DuplicateKey: a mapping repeats a key (the second one's line).
    """
    lines: dict[Loc, int] = {(): 1}
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        _walk(root, (), lines, set())
    return lines


def _walk(node: yaml.Node, path: Loc, lines: dict[Loc, int], seen: set[int]) -> None:
    if id(node) in seen:  # an alias: walked where its anchor is (and never round a cycle)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            loc = (*path, str(key.value))
            if loc in lines:
                raise DuplicateKey(loc, key.start_mark.line + 1)
            lines[loc] = key.start_mark.line + 1
            _walk(value, loc, lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines, seen)


def line_of(lines: dict[Loc, int], loc: Sequence[str | int]) -> int:
    """The line of the deepest part of `loc` the file has: the field itself, else the section a
    missing field belongs in."""
    loc = tuple(loc)
    while loc not in lines:
        loc = loc[:-1]
    return lines[loc]
