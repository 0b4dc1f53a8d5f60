"""The one loader of prompt templates (`prompts/<name>.<lang>.jinja`, or a task's override
`<task folder>/templates/<name>.jinja`); principle sets are read by
`store.principle_io.load_principles`, tasks by `agents.task.load_task`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import meta
from jinja2.loaders import split_template_path
from kindling.prompts import PROMPTS_DIR
from kindling.store.bounded import MAX_CONFIG_BYTES, named, read_bounded
from kindling.store.errors import UserError
from pydantic import Field

PromptOrder = Literal["paper", "cache_friendly"]
"""Where the built-in templates put their fixed closing section (the output format): last, as
the paper's prompts do, or before the item, so that everything fixed comes first."""


def prompt_order_field() -> Any:
    """The `prompt_order:` field of a run config."""
    return Field("paper", description="Where the built-in prompts give the output format: paper: last, after the item, as the paper's prompts do; cache_friendly: before the item, so each role's prompt starts with all its fixed text and a prompt cache (the local llama.cpp server's, a hosted API's) reuses it for every item. The words are the same either way; a task's own templates render as written.")


class PromptError(UserError):
    """A template or principle file that is missing or malformed (names the file)."""


@dataclass(frozen=True)
class RenderedPrompt:
    template: str
    template_hash: str
    text: str


class BoundedLoader(jinja2.BaseLoader):
    """Jinja's file loader for one folder, reading each template within `MAX_CONFIG_BYTES` (a
    regular file only) and keeping the SHA-256 of the bytes it read, by template name.

    Names starting with `override_prefix` are read from `override_root` instead (a task's
    templates/ folder)."""

    def __init__(self, root: Path, override_root: Path | None = None,
                 override_prefix: str = "") -> None:
        self.root = Path(root)
        self.override_root, self.override_prefix = override_root, override_prefix
        self.hashes: dict[str, str] = {}

    def file_of(self, template: str) -> Path:
        """The file a template name is read from."""
        if self.override_root is not None and template.startswith(self.override_prefix):
            rest = template.removeprefix(self.override_prefix)
            return self.override_root.joinpath(*split_template_path(rest))
        return self.root.joinpath(*split_template_path(template))

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        path = self.file_of(template)
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


def to_json(value: Any) -> str:
    """The `json` filter: a value as one line of JSON, non-ASCII kept (a worked example's output);
    pydantic models as their fields."""
    return json.dumps(value, ensure_ascii=False,
                      default=lambda v: v.model_dump() if hasattr(v, "model_dump") else str(v))


class PromptLibrary:
    """Renders `prompts/<name>.<lang>.jinja` with strict undefined variables.

    Args:
        root: the built-in templates' folder.
        language: the suffix of the built-in templates read (`judge/detect.zh.jinja`).
        overrides: a folder whose `<name>.jinja` replaces the built-in template `<name>` (a task's
            templates/); its templates are named `override_prefix + <name>.jinja`.
        override_prefix: how an override's name starts (recorded with each call).
        variables: values every template sees (a task's fields as `task`).
        order: the section order of the built-in templates, which see it as `prompt_order`.
    """

    def __init__(self, root: Path = PROMPTS_DIR, language: str = "zh", *,
                 overrides: Path | None = None, override_prefix: str = "override/",
                 variables: Mapping[str, Any] | None = None, order: PromptOrder = "paper") -> None:
        self.root = root
        self.language = language
        self.overrides = overrides
        self._loader = BoundedLoader(root, overrides, override_prefix)
        self._env = jinja2.Environment(
            loader=self._loader,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        self._env.filters["json"] = to_json
        self._env.globals.update({**(variables or {}), "prompt_order": order})
        self._overridden = frozenset(
            p.relative_to(overrides).as_posix().removesuffix(".jinja")
            for p in overrides.rglob("*.jinja") if p.is_file()
        ) if overrides is not None and overrides.is_dir() else frozenset()

    @property
    def overridden(self) -> frozenset[str]:
        """The template names (`curate/paper/judge`) the overrides folder replaces."""
        return self._overridden

    def template_name(self, name: str) -> str:
        """The name template `name` is loaded (and recorded) under: an override's, else
        `<name>.<language>.jinja`."""
        if name in self._overridden:
            return f"{self._loader.override_prefix}{name}.jinja"
        return f"{name}.{self.language}.jinja"

    def file_of(self, name: str) -> Path:
        """The file template `name` is read from."""
        return self._loader.file_of(self.template_name(name))

    def undeclared(self, name: str) -> set[str]:
        """The variables template `name` uses that it neither sets itself nor gets from the
        library (`task`); what a caller must pass.

        Raises:
            PromptError: the template is missing, unreadable or not valid Jinja (naming the file).
        """
        path = self.template_name(name)
        try:
            source, _, _ = self._loader.get_source(self._env, path)
            parsed = self._env.parse(source)
        except jinja2.TemplateNotFound as exc:
            raise PromptError(f"{self.file_of(name)}: template not found") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"{self.file_of(name)}:{exc.lineno}: {exc.message}") from exc
        return set(meta.find_undeclared_variables(parsed)) - set(self._env.globals)

    def render(self, name: str, **variables: Any) -> RenderedPrompt:
        """Render template `name` (e.g. 'curate/judge') in the library's language.

        Raises:
            PromptError: the template is missing, unreadable, past 1 MiB, not UTF-8, not valid
                Jinja, or uses a variable not given (naming the file).
        """
        path = self.template_name(name)
        try:
            template = self._env.get_template(path)
            text = template.render(**variables)
        except jinja2.TemplateNotFound as exc:
            raise PromptError(f"{self.file_of(name)}: template not found") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"{self.file_of(name)}:{exc.lineno}: {exc.message}") from exc
        except jinja2.UndefinedError as exc:
            raise PromptError(f"{self.file_of(name)}: {exc}") from exc
        return RenderedPrompt(template=path, template_hash=self._loader.hashes[path], text=text)
