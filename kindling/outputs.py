"""Output locations: checked before any work, written atomically, never touching a user's files.

Rules every command follows:
- a file output's folder must exist; an existing file is replaced only with `--overwrite`, and
  the new content is written beside it first and renamed into place (never half-written);
- a folder output that exists and is not empty is refused unless `--overwrite` is given, and even
  then only the entries Kindling wrote there (listed in the folder's `.kindling-output.json`
  manifest) are replaced; nothing else in the folder is read, moved or deleted;
- a folder a long job writes into in place (a model, a training run) must be new, empty, or
  Kindling's own (its manifest says the whole folder is), and a non-empty one needs `--overwrite`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from kindling.store.bounded import MAX_STATE_BYTES, read_bounded
from kindling.store.errors import OutputError

MANIFEST = ".kindling-output.json"
WHOLE_FOLDER = "*"


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)


def owned_entries(folder: Path) -> set[str]:
    """Names Kindling wrote in `folder` (from its manifest; `*` = the whole folder)."""
    try:
        data = json.loads(read_bounded(folder / MANIFEST, MAX_STATE_BYTES, "output manifest"))
    except (OSError, ValueError):
        return set()
    files = data.get("files") if isinstance(data, dict) else None
    return {str(f) for f in files} if isinstance(files, list) else set()


def _write_manifest(folder: Path, names: set[str], command: str) -> None:
    text = json.dumps({"written_by": "kindling", "command": command, "files": sorted(names)},
                      indent=1)
    write_text(folder / MANIFEST, text + "\n")


def check_output_file(path: Path, *, overwrite: bool, flag: str = "--out") -> None:
    """Check a file output before any work is done.

    Raises:
        OutputError: the folder is missing, the path is a folder, or the file exists and
            `overwrite` is not set.
    """
    if path.is_dir():
        raise OutputError(f"{flag} {path}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise OutputError(f"{flag} {path}: folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise OutputError(f"{flag} {path}: file exists; pass --overwrite to replace it")


def write_file(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Write a text file atomically: into a temp file beside it, then renamed over it."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as fh:
            write(fh)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """`write_file` with a string."""
    write_file(path, lambda fh: fh.write(text))


def check_output_dir(path: Path, names: Sequence[str], *, overwrite: bool,
                     flag: str = "--out") -> None:
    """Check a folder output (holding `names`) before any work is done.

    Raises:
        OutputError: the path is a file; the folder is not empty and `overwrite` is not set; or
            an entry to be replaced was not written by Kindling.
    """
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path}: is a file, not a folder")
    if not path.is_dir() or not _entries(path):
        return
    if not overwrite:
        raise OutputError(f"{flag} {path}: folder is not empty; pass --overwrite to replace "
                          "Kindling's own files there (nothing else is touched), or choose a "
                          "new folder")
    owned = owned_entries(path)
    foreign = [n for n in names if (path / n).exists() and n not in owned
               and WHOLE_FOLDER not in owned]
    if foreign:
        raise OutputError(f"{flag} {path}: {', '.join(foreign)} not written by Kindling; move "
                          "it away or choose another folder (it is never replaced)")


@contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out` to write outputs into before `publish_dir`; removed after."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.kindling-", dir=out.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish_dir(staged: Path, out: Path, command: str) -> None:
    """Move every entry of `staged` into `out`, replacing only entries of the same name (which
    `check_output_dir` found to be Kindling's), and record them in `out`'s manifest."""
    names = _entries(staged)
    if not out.exists():  # the whole folder is Kindling's
        _write_manifest(staged, {WHOLE_FOLDER, *names}, command)
        staged.rename(out)
        return
    for name in names:
        target = out / name
        trash = staged / f".old-{name}"
        if target.exists():
            target.rename(trash)
        (staged / name).rename(target)
    _write_manifest(out, owned_entries(out) | set(names), command)


def claim_dir(path: Path, *, overwrite: bool, command: str, flag: str = "--out") -> None:
    """Make `path` a folder a job may write into in place (a model, a training run's output).

    New or empty: created and marked as Kindling's. Kindling's own (marked): used again only
    with `overwrite`, and emptied first, so the new job never writes beside an earlier job's
    files (an interrupted run leaves its own checkpoints alone, never mixed with older ones).
    Anything else is refused.

    Raises:
        OutputError: the path is a file, a non-empty folder Kindling did not make, or a marked
            non-empty folder without `overwrite`.
    """
    check_claimable(path, overwrite=overwrite, flag=flag)
    path.mkdir(parents=True, exist_ok=True)
    empty_owned_dir(path)
    _write_manifest(path, {WHOLE_FOLDER}, command)


def empty_owned_dir(path: Path) -> None:
    """Delete every entry of a folder Kindling made whole (its manifest says so; the manifest
    stays); a folder that is not wholly Kindling's is left as it is."""
    if WHOLE_FOLDER not in owned_entries(path):
        return
    for name in _entries(path):
        entry = path / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def check_claimable(path: Path, *, overwrite: bool, flag: str = "--out") -> None:
    """`claim_dir`'s checks, without creating or marking anything (for validating first)."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path}: is a file, not a folder")
    if path.is_dir() and _entries(path):
        if WHOLE_FOLDER not in owned_entries(path):
            raise OutputError(f"{flag} {path}: folder is not empty and was not made by Kindling; "
                              "choose a new or empty folder (nothing in it is touched)")
        if not overwrite:
            raise OutputError(f"{flag} {path}: holds an earlier run's output; pass --overwrite "
                              "to write over it, or choose a new folder")


def remove_owned_dir(path: Path) -> bool:
    """Delete a folder only if Kindling made all of it (its manifest says so); True if deleted."""
    if path.is_dir() and WHOLE_FOLDER in owned_entries(path):
        shutil.rmtree(path)
        return True
    return False
