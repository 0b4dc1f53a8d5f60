"""`kindling init [DIR]`: a project folder of your own, with a copy of every shipped config."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from kindling.context import console


def init(
    folder: Path = typer.Argument(Path("."), help="The project folder (made if missing; default: the current folder)."),
) -> None:
    """Copy every shipped config into DIR/configs and write DIR/KINDLING.md; never overwrites.

    Refused, with nothing written, if any of those files exists already.
    """
    from kindling.services.project import init_project

    result = init_project(folder)  # a UserError (exit 2) names every file that exists
    for rel in result.written:
        console.print(f"wrote {result.folder / rel}", highlight=False, soft_wrap=True)
    console.print(f"{len(result.written)} files in {result.folder}; read "
                  f"{result.folder / 'KINDLING.md'} for what each config is for.", highlight=False)
    console.print("next: " + next_command(result.folder), highlight=False, soft_wrap=True)


def next_command(folder: Path) -> str:
    """What to type next: the quickstart, from the project folder (moving there first if this
    is another)."""
    here = Path(os.path.abspath(Path.cwd())) == folder
    return ("" if here else f"cd {_shown(folder)} && ") + "kindling quickstart"


def _shown(folder: Path) -> str:
    """The folder as typed: relative when it is below the current folder."""
    try:
        return str(folder.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(folder)
