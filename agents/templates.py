"""The one loader of prompt templates and principle sets (both live under `prompts/`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from store.errors import UserError
from store.principle_io import PrincipleFormatError, validate_rules
from store.yaml_io import read_yaml_mapping

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

    The rules are checked as `kindling principles import` checks them (store.principle_io).

    Raises:
        PromptError: no such name or file, a folder, not UTF-8 YAML, or bad `rules`.
    """
    path = principle_path(name_or_path, root)
    data = read_yaml_mapping(path, "principle set", PromptError,
                             shape="a mapping with name, kind, rules")
    try:
        rules = validate_rules(data.get("rules"), str(path))
    except PrincipleFormatError as exc:
        raise PromptError(str(exc)) from exc
    return PrincipleSet(name=str(data.get("name") or path.stem),
                        kind=str(data.get("kind") or "judge"), rules=rules, source=str(path))


def principle_path(name_or_path: str, root: Path = PROMPTS_DIR) -> Path:
    """The file a principle reference names: an existing path, else `<root>/principles/<name>.yaml`.

    Raises:
        PromptError: a folder, or neither a file nor a known name (the known names are listed).
    """
    path = Path(name_or_path)
    if path.is_dir():
        raise PromptError(f"{path}: is a folder; give a principle YAML file or a name "
                          f"({', '.join(principle_names(root))})")
    if path.is_file():
        return path
    named = root / "principles" / f"{name_or_path}.yaml"
    if not path.suffix and named.is_file():
        return named
    raise PromptError(f"principle set {name_or_path!r}: no such file, and no such name under "
                      f"{root / 'principles'} ({', '.join(principle_names(root))})")


def principle_names(root: Path = PROMPTS_DIR) -> list[str]:
    """The names of the principle sets that ship under `prompts/principles/`."""
    return sorted(p.stem for p in (root / "principles").glob("*.yaml"))
