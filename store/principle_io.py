"""Principle versions as YAML: export a version, read and validate a set written by hand.

The YAML layout is the one of `prompts/principles/*.yaml` (name, kind, language, rules), so an
exported file loads with `load_principles`, and `kindling principles import` reads the starting
sets as well as exported ones. An exported version also names its `task` (and its language is
that task's); `version`, `parent` and `origin` are informational. This is the one
reader of principle files: `curate --principles`, the judge, Path B's starting sets and `principles
import` all go through `load_principles` / `from_yaml_text`, with the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from kindling.prompts import PROMPTS_DIR
from kindling.store.errors import UserError
from kindling.store.text_checks import check_valid_text, lone_surrogate
from kindling.store.yaml_io import describe_yaml_error, read_yaml_mapping, read_yaml_text

if TYPE_CHECKING:
    from kindling.store.models import PrincipleVersion

KINDS = ("detector", "generator", "debate_judge")
KIND_ALIASES = {"judge": "debate_judge"}
"""Kind names older files use: Path A's debate judge's set was kind `judge` (files exported
before the rename still load; an export writes the new name)."""
MAX_RULES = 10  # the adversarial loop's own bound on a rewritten set
MAX_RULE_CHARS = 300
KNOWN_FIELDS = ("name", "kind", "language", "task", "rules", "version", "parent", "origin")


class PrincipleFormatError(UserError):
    """A principle set that cannot be stored; the message names the source and the field."""


@dataclass(frozen=True)
class PrincipleSet:
    """A validated principle set, as read from a file (not yet stored)."""

    name: str
    kind: str
    rules: tuple[str, ...]
    source: str = ""
    task: str | None = None  # the task the set was made under (an exported version names it)
    language: str | None = None

    @property
    def text(self) -> str:
        """Canonical text of the rules, one per line (what is hashed and stored)."""
        return "\n".join(self.rules)


def to_yaml(version: PrincipleVersion, language: str | None = None) -> str:
    """A version as YAML: name, kind, language, task, rules, and its id, parent and origin.

    Args:
        version: the stored version.
        language: its task's language (left out when None: a task that cannot be loaded here).

    Returns:
        YAML text that `from_yaml_text` and `load_principles` read back to the same rules.
    """
    from kindling.store.principle_tasks import version_task

    data: dict[str, Any] = {"name": version.name, "kind": version.kind}
    if language is not None:
        data["language"] = language
    data |= {
        "task": version_task(version),
        "rules": [line.strip() for line in version.text.splitlines() if line.strip()],
        "version": version.id,
        "parent": version.parent_id,
        "origin": version.origin,
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def validate_rules(rules: Any, source: str) -> tuple[str, ...]:
    """The rules, stripped, after checking they form a usable set.

    Args:
        rules: the value of the `rules` field.
        source: file name (or other label) to name in errors.

    Raises:
        PrincipleFormatError: not a non-empty list of at most MAX_RULES non-empty one-line strings
            of at most MAX_RULE_CHARS characters, or a rule repeated.
    """
    if rules is None:
        raise PrincipleFormatError(f"{source}: field rules: missing (a list of rules is required)")
    if not isinstance(rules, list) or not rules:
        raise PrincipleFormatError(f"{source}: field rules: must be a non-empty list of strings")
    if len(rules) > MAX_RULES:
        raise PrincipleFormatError(f"{source}: field rules: {len(rules)} rules, at most "
                                   f"{MAX_RULES} (merge related rules)")
    cleaned: list[str] = []
    seen: dict[str, int] = {}
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, str) or not rule.strip():
            raise PrincipleFormatError(
                f"{source}: field rules, rule {number}: must be a non-empty string, got {rule!r}")
        rule = rule.strip()
        if bad := lone_surrogate(rule):
            raise PrincipleFormatError(f"{source}: field rules, rule {number}: not valid Unicode "
                                       f"(a lone surrogate {bad})")
        if len(rule) > MAX_RULE_CHARS:
            raise PrincipleFormatError(f"{source}: field rules, rule {number}: {len(rule)} "
                                       f"characters, at most {MAX_RULE_CHARS}")
        if "\n" in rule or "\r" in rule:
            raise PrincipleFormatError(
                f"{source}: field rules, rule {number}: contains a line break; "
                "write each rule as one line (one list item per rule)")
        if rule in seen:
            raise PrincipleFormatError(
                f"{source}: field rules, rule {number}: duplicates rule {seen[rule]}: {rule}")
        seen[rule] = number
        cleaned.append(rule)
    return tuple(cleaned)


def _field_str(data: dict[str, Any], field: str, source: str) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PrincipleFormatError(f"{source}: field {field}: must be a non-empty string")
    return value.strip()


def from_yaml_text(text: str, source: str, *, name: str | None = None,
                   default_name: str | None = None) -> PrincipleSet:
    """Parse and validate a principle set written as YAML.

    Args:
        text: the YAML document.
        source: file name to name in errors.
        name: overrides the file's `name`.
        default_name: used when neither `name` nor the file gives one.

    Returns:
        The validated set.

    Raises:
        PrincipleFormatError: not YAML, not a mapping, text that is not valid Unicode, an unknown field, a missing or bad `kind`,
            a missing or empty `name`, or bad `rules` (see `validate_rules`).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PrincipleFormatError(f"{source}: not valid YAML: {describe_yaml_error(exc)}") from exc
    if not isinstance(data, dict):
        raise PrincipleFormatError(
            f"{source}: top level must be a mapping with fields name, kind, rules")
    check_valid_text(data, source, PrincipleFormatError)
    return principle_set_from(data, source, name=name, default_name=default_name)


def principle_set_from(data: dict[str, Any], source: str, *, name: str | None = None,
                       default_name: str | None = None) -> PrincipleSet:
    """Validate a principle set's mapping (see `from_yaml_text`)."""
    unknown = sorted(str(k) for k in data if k not in KNOWN_FIELDS)
    if unknown:
        raise PrincipleFormatError(
            f"{source}: field {unknown[0]}: unknown (known fields: {', '.join(KNOWN_FIELDS)})")
    kind = _field_str(data, "kind", source)
    if kind is None:
        raise PrincipleFormatError(f"{source}: field kind: missing (one of {', '.join(KINDS)})")
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise PrincipleFormatError(
            f"{source}: field kind: {kind!r} is not one of {', '.join(KINDS)}")
    final_name = name or _field_str(data, "name", source) or default_name
    if not final_name:
        raise PrincipleFormatError(f"{source}: field name: missing")
    if len(final_name) > 200:
        raise PrincipleFormatError(f"{source}: field name: longer than 200 characters")
    return PrincipleSet(name=final_name, kind=kind, rules=validate_rules(data.get("rules"), source),
                        source=source, task=_field_str(data, "task", source),
                        language=_field_str(data, "language", source))


def read_principle_file(path: Path) -> str:
    """A principle YAML file's text (a regular file of at most 1 MiB, UTF-8).

    Raises:
        PrincipleFormatError: missing, a folder, a device or FIFO, too large, or not UTF-8.
    """
    return read_yaml_text(path, "principle set", PrincipleFormatError)


def load_principles(name_or_path: str, root: Path = PROMPTS_DIR) -> PrincipleSet:
    """Read a principle set by name (`prompts/principles/<name>.yaml`) or by YAML path.

    Raises:
        PrincipleFormatError: no such name or file, a folder, not UTF-8 YAML, or a bad field.
    """
    path = principle_path(name_or_path, root)
    data = read_yaml_mapping(path, "principle set", PrincipleFormatError,
                             shape="a mapping with fields name, kind, rules")
    return principle_set_from(data, str(path), default_name=path.stem)


def principle_path(name_or_path: str, root: Path = PROMPTS_DIR) -> Path:
    """The file a principle reference names: an existing path, else `<root>/principles/<name>.yaml`.

    Raises:
        PrincipleFormatError: a folder, or neither a file nor a known name (the known names are listed).
    """
    path = Path(name_or_path)
    if path.is_dir():
        raise PrincipleFormatError(f"{path}: is a folder; give a principle YAML file or a name "
                          f"({', '.join(principle_names(root))})")
    if path.exists():  # a device or FIFO is refused when read
        return path
    named = root / "principles" / f"{name_or_path}.yaml"
    if not path.suffix and named.is_file():
        return named
    raise PrincipleFormatError(f"principle set {name_or_path!r}: no such file, and no such name under "
                      f"{root / 'principles'} ({', '.join(principle_names(root))})")


def principle_names(root: Path = PROMPTS_DIR) -> list[str]:
    """The names of the principle sets that ship under `prompts/principles/`."""
    return sorted(p.stem for p in (root / "principles").glob("*.yaml"))
