"""The one loader of prompt templates and principle sets (both live under `prompts/`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from store.errors import UserError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptError(UserError):
    """A template or principle file that is missing or malformed (names the file)."""


@dataclass(frozen=True)
class RenderedPrompt:
    template: str
    template_hash: str
    text: str


@dataclass(frozen=True)
class PrincipleSet:
    name: str
    kind: str
    rules: tuple[str, ...]
    source: str

    @property
    def text(self) -> str:
        """Canonical text of the rules, one per line (what is hashed and stored)."""
        return "\n".join(self.rules)


class PromptLibrary:
    """Renders `prompts/<name>.<lang>.jinja` with strict undefined variables."""

    def __init__(self, root: Path = PROMPTS_DIR, language: str = "zh") -> None:
        self.root = root
        self.language = language
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(root)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        self._hashes: dict[str, str] = {}

    def render(self, name: str, **variables: Any) -> RenderedPrompt:
        """Render template `name` (e.g. 'curate/judge') in the library's language."""
        path = f"{name}.{self.language}.jinja"
        try:
            template = self._env.get_template(path)
            text = template.render(**variables)
        except jinja2.TemplateNotFound as exc:
            raise PromptError(f"{self.root / path}: template not found") from exc
        except jinja2.UndefinedError as exc:
            raise PromptError(f"{self.root / path}: {exc}") from exc
        if path not in self._hashes:
            source = (self.root / path).read_bytes()
            self._hashes[path] = hashlib.sha256(source).hexdigest()
        return RenderedPrompt(template=path, template_hash=self._hashes[path], text=text)


def load_principles(name_or_path: str, root: Path = PROMPTS_DIR) -> PrincipleSet:
    """Load a principle set by name (`prompts/principles/<name>.yaml`) or by YAML path.

    Raises:
        PromptError: the file is missing, not YAML, or lacks a non-empty `rules` list of strings.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = root / "principles" / f"{name_or_path}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: cannot read principle set: {exc}") from exc
    if not isinstance(data, dict):
        raise PromptError(f"{path}: top level must be a mapping with name, kind, rules")
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules or not all(
        isinstance(r, str) and r.strip() for r in rules
    ):
        raise PromptError(f"{path}: field rules: must be a non-empty list of non-empty strings")
    return PrincipleSet(
        name=str(data.get("name") or path.stem),
        kind=str(data.get("kind") or "judge"),
        rules=tuple(r.strip() for r in rules),
        source=str(path),
    )
