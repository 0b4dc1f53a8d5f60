"""The one loader of prompt templates (`prompts/<name>.<lang>.jinja`); principle sets are read by
`store.principle_io.load_principles`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from prompts import PROMPTS_DIR
from store.errors import UserError


class PromptError(UserError):
    """A template or principle file that is missing or malformed (names the file)."""


@dataclass(frozen=True)
class RenderedPrompt:
    template: str
    template_hash: str
    text: str


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
