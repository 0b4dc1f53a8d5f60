"""The run configs shipped with Kindling (package data): `kindling init` copies them into a folder
of your own, and commands fall back on them when a project has none."""

from importlib.resources import files
from pathlib import Path


def shipped_configs() -> Path:
    """The folder holding the shipped configs (a real folder: the package is installed unzipped)."""
    return Path(str(files(__name__)))
