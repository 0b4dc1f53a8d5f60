"""The run configs a studio may step graphs with: YAML files of the project folder.

The browser never names a file to open. The studio lists the YAML files in the project folder and
its `configs/` folder (bounded in count and size, regular files only, none reached through a
link out of the folder), keeps those that validate for a graph's config model, and a debug
session names one of them by its listed name. Anything else (an absolute path, `..`, a device, a
file that does not validate) is refused with a message that names the config, never its content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kindling.agents.config import ConfigError
from kindling.store.bounded import read_bounded
from kindling.store.errors import UserError

SEARCHED = (".", "configs")
"""Folders of the project searched for configs (not recursively)."""
SUFFIXES = (".yaml", ".yml")
MAX_FILES = 64
"""Most files looked at; more are left out of the listing (and said so)."""
MAX_BYTES = 256 * 1024
"""Largest config file read; a larger one is listed as unusable, unread."""


class ConfigRefused(ConfigError):
    """A config name the studio will not use: not one of the project's, or not for that graph."""


@dataclass(frozen=True)
class ProjectConfig:
    """One YAML file of the project folder, as the studio found it.

    Attributes:
        name: Its path relative to the project folder, with `/` (what the browser sends).
        data: Its top-level mapping, or None when it could not be used.
        graphs: The graphs whose config model it validates for.
        problem: Why it is unusable (never a quote of the file), or "" when usable.
    """

    name: str
    data: dict[str, Any] | None = None
    graphs: tuple[str, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class Listing:
    """What a scan of the project folder found."""

    project: Path
    configs: list[ProjectConfig] = field(default_factory=list)
    truncated: bool = False

    def for_graph(self, graph: str) -> list[str]:
        """Names of the configs that validate for `graph`, in listing order."""
        return [c.name for c in self.configs if graph in c.graphs]

    def unusable(self) -> list[ProjectConfig]:
        """The YAML files that validate for no graph."""
        return [c for c in self.configs if not c.graphs]


def scan(project: Path, models: dict[str, type[Any]]) -> Listing:
    """The YAML files of `project` and `project/configs`, each checked against every model.

    Args:
        project: The project folder (resolved here).
        models: Graph name → its run config model.
    """
    root = project.resolve()
    found: list[ProjectConfig] = []
    paths = _candidates(root)
    for path in paths[:MAX_FILES]:
        found.append(_examine(root, path, models))
    return Listing(root, found, truncated=len(paths) > MAX_FILES)


def _candidates(root: Path) -> list[Path]:
    """YAML file names in the searched folders (the folders themselves inside the project)."""
    out: list[Path] = []
    for sub in SEARCHED:
        folder = root / sub
        if not folder.is_dir() or not folder.resolve().is_relative_to(root):
            continue
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        out += [folder / n for n in names if n.endswith(SUFFIXES) and not n.startswith(".")]
    return out


def _examine(root: Path, path: Path, models: dict[str, type[Any]]) -> ProjectConfig:
    name = path.relative_to(root).as_posix()
    real = path.resolve()
    if not real.is_relative_to(root):
        return ProjectConfig(name, problem="a link out of the project folder")
    text = read_bounded_text(real, MAX_BYTES)
    if text is None:
        return ProjectConfig(name, problem=f"not a regular UTF-8 file under {MAX_BYTES // 1024} KiB")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return ProjectConfig(name, problem="not valid YAML")
    data = {} if data is None else data
    if not isinstance(data, dict):
        return ProjectConfig(name, problem="not a YAML mapping")
    graphs = tuple(g for g, model in models.items() if _validates(model, data))
    return ProjectConfig(name, data, graphs,
                         "" if graphs else "not a run config of curate, adversarial or judge")


def _validates(model: type[Any], data: dict[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def read_bounded_text(path: Path, limit: int) -> str | None:
    """A regular file's UTF-8 text, or None for a device, a FIFO, a folder, a file over `limit`
    bytes or bytes that are not UTF-8 (store.bounded reads at most `limit` + 1 bytes and never
    blocks)."""
    try:
        return read_bounded(path, limit, "config").decode("utf-8")
    except (OSError, UserError, UnicodeDecodeError):
        return None


def pick(listing: Listing, graph: str, name: str) -> ProjectConfig:
    """The listed config `name` for `graph`.

    Raises:
        ConfigRefused: `name` is not a listed name, or that config does not validate for `graph`
            (the message says how to see why in a terminal, and quotes nothing of the file).
    """
    found = next((c for c in listing.configs if c.name == name), None)
    if found is None:
        shown = name if len(name) <= 80 else name[:80] + "..."
        raise ConfigRefused(
            f"config {shown!r} is not one of the project's configs: the studio runs the configs "
            f"it lists for the project folder {listing.project} (GET /api/debug/configs), by name")
    if graph not in found.graphs:
        raise ConfigRefused(
            f"config {found.name!r} of the project cannot be used for the {graph} graph "
            f"({found.problem or 'it is not a ' + graph + ' config'}); to see why, run "
            f"`kindling graph step {graph} -c {found.name}` in {listing.project}")
    return found
