"""The one loader of prompt templates (`prompts/<name>.<lang>.jinja`); principle sets are read by
`store.principle_io.load_principles`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from kindling.prompts import PROMPTS_DIR
from kindling.store.bounded import MAX_CONFIG_BYTES, named, read_bounded
from kindling.store.errors import UserError


class PromptError(UserError):
    """A template or principle file that is missing or malformed (names the file)."""


@dataclass(frozen=True)
class RenderedPrompt:
    template: str
    template_hash: str
    text: str


class BoundedLoader(jinja2.BaseLoader):
    """Jinja's file loader for one folder, reading each template within `MAX_CONFIG_BYTES` (a
    regular file only) and keeping the SHA-256 of the bytes it read, by template name."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hashes: dict[str, str] = {}

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        path = self.root.joinpath(*split_template_path(template))
        try:
            raw = read_bounded(path, MAX_CONFIG_BYTES, "prompt template", named(path, PromptError))
            text = raw.decode("utf-8")
            mtime = path.stat().st_mtime
        except FileNotFoundError as exc:
            raise jinja2.TemplateNotFound(template) from exc
        except UnicodeDecodeError as exc:
            raise PromptError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
        except OSError as exc:
            raise PromptError(f"{path}: cannot read template: {exc.strerror or exc}") from exc
        self.hashes[template] = hashlib.sha256(raw).hexdigest()

        def uptodate() -> bool:
            try:
                return path.stat().st_mtime == mtime
            except OSError:
                return False

        return text, str(path), uptodate


class PromptLibrary:
    """Renders `prompts/<name>.<lang>.jinja` with strict undefined variables."""

    def __init__(self, root: Path = PROMPTS_DIR, language: str = "zh") -> None:
        self.root = root
        self.language = language
        self._loader = BoundedLoader(root)
        self._env = jinja2.Environment(
            loader=self._loader,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )

    def render(self, name: str, **variables: Any) -> RenderedPrompt:
        """Render template `name` (e.g. 'curate/judge') in the library's language.

        Raises:
            PromptError: the template is missing, unreadable, past 1 MiB, not UTF-8, or uses a
                variable not given (naming the file).
        """
        path = f"{name}.{self.language}.jinja"
        try:
            template = self._env.get_template(path)
            text = template.render(**variables)
        except jinja2.TemplateNotFound as exc:
            raise PromptError(f"{self.root / path}: template not found") from exc
        except jinja2.UndefinedError as exc:
            raise PromptError(f"{self.root / path}: {exc}") from exc
        return RenderedPrompt(template=path, template_hash=self._loader.hashes[path], text=text)
