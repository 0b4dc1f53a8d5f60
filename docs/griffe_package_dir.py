"""Griffe extension for the API reference: the packages setuptools maps under `kindling`.

Installed, `kindling.agents`, `kindling.graphs`, `kindling.rl`, `kindling.ingest`,
`kindling.store` and `kindling.prompts` live in the repository's top-level folders (a `package_dir` mapping), not
under `kindling/`. Griffe finds a package's submodules by walking its folder, so on its own it
never sees them, with or without inspection. When Griffe has loaded `kindling`, this extension
asks the import system where each mapped package is (the installed editable package knows) and
loads that folder as the submodule of the same name, the way Griffe loads any other.

Used from mkdocs.yml (`plugins.mkdocstrings.handlers.python.options.extensions`); not part of
the package and not shipped with it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import griffe

DEFAULT_PACKAGES = ("kindling.agents", "kindling.graphs", "kindling.rl", "kindling.ingest",
                    "kindling.store", "kindling.prompts")

logger = griffe.get_logger("griffe_package_dir")


class PackageDir(griffe.Extension):
    """Graft packages that live outside their parent's folder onto the parent."""

    def __init__(self, packages: list[str] | None = None) -> None:
        """Remember which dotted package names to look for.

        Args:
            packages: Dotted names such as `kindling.store`; default: Kindling's six.
        """
        super().__init__()
        self.packages = tuple(packages or DEFAULT_PACKAGES)

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Load each mapped package under `pkg` once `pkg` itself is loaded."""
        for dotted in self.packages:
            parent_path, _, name = dotted.rpartition(".")
            if parent_path != pkg.path or name in pkg.members:
                continue
            init = _init_file(dotted)
            if init is None:
                logger.info("%s: not importable, so not documented (is Kindling installed?)",
                               dotted)
                continue
            # The loader's own path (static analysis, or inspection when the handler forces it);
            # griffe has no public call that loads a folder as a given parent's submodule.
            module = loader._load_module(name, init, parent=pkg)
            pkg.set_member(name, module)


def _init_file(dotted: str) -> Path | None:
    """The `__init__.py` the import system would run for `dotted`, or None."""
    try:
        spec = importlib.util.find_spec(dotted)
    except ImportError:
        return None
    if spec is None or not spec.origin or not spec.origin.endswith("__init__.py"):
        return None
    return Path(spec.origin)
