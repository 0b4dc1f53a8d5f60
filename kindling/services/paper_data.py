"""Where the paper's data comes from: the store already holding it, a folder, or the upstream
download at the pinned commit (kept in a cache and verified file by file).

The order, first match wins: the store holds every paper dataset (nothing to read); `--from DIR`;
the folder `$KINDLING_PAPER_DATA` names; a complete verified cache; a download into the cache
(from `$KINDLING_UPSTREAM_URL` when set, a mirror of upstream's `dataset/` folder). With none of
them and no network, one line says how to get the data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kindling.ingest.readers import LAYOUT
from kindling.ingest.upstream import (
    UPSTREAM_BASE_URL,
    UPSTREAM_COMMIT,
    UPSTREAM_REPO,
    UPSTREAM_SHA256,
    UpstreamUnreachable,
    fetch_upstream,
    is_verified,
    missing_files,
)
from kindling.outputs import WHOLE_FOLDER, owned_entries
from kindling.store.errors import OutputError, StoreError, UserError

if TYPE_CHECKING:
    from kindling.store.db import Store

PAPER_DATA_ENV = "KINDLING_PAPER_DATA"
"""A folder of the paper's `dataset/` layout, read when no `--from` is given."""
UPSTREAM_URL_ENV = "KINDLING_UPSTREAM_URL"
"""The URL of a mirror of upstream's `dataset/` folder at the pinned commit (files are checked
against the same SHA-256s)."""
DOWNLOAD_MB = 6
"""About how many megabytes the upstream download is (seven files, 6.4 MB)."""


class NoPaperData(UserError):
    """No source of the paper data is at hand, and the download could not reach its server."""


@dataclass(frozen=True)
class PaperData:
    """Where the paper data was found: `folder` to import (None: the store holds it already), and
    `origin`, how it was found, as the "paper data: ..." line says it."""

    folder: Path | None
    origin: str


def default_cache_dir() -> Path:
    """Where upstream downloads go: ~/.cache/kindling/igniting/<commit> (honours XDG_CACHE_HOME)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kindling" / "igniting" / UPSTREAM_COMMIT


def upstream_base_url() -> str:
    """`$KINDLING_UPSTREAM_URL` (a mirror) when set, else upstream's `dataset/` at the commit."""
    return os.environ.get(UPSTREAM_URL_ENV) or UPSTREAM_BASE_URL


def check_cache(cache: Path, where: str = "--cache-dir",
                fix: str = "move it away or choose another folder") -> None:
    """A download replaces a cached file whose SHA-256 is wrong: refuse when such a file is in a
    folder Kindling did not make (the download would overwrite somebody else's file).

    Args:
        cache: The download folder.
        where: How messages name it (the flag, or what it is).
        fix: What the user can do about a wrong file there.

    Raises:
        OutputError: the cache is a file, or holds a wrong file at an upstream path.
    """
    if cache.exists() and not cache.is_dir():
        raise OutputError(f"{where} {cache}: is a file, not a folder")
    if not cache.is_dir() or WHOLE_FOLDER in owned_entries(cache):
        return
    stale = [rel for rel, digest in UPSTREAM_SHA256.items()
             if (cache / rel).exists() and not is_verified(cache / rel, digest)]
    if stale:
        raise OutputError(f"{where} {cache}: {stale[0]} is not the upstream file and was not "
                          f"written by Kindling; {fix}")


def check_folder(folder: Path, where: str) -> None:
    """A folder of the paper's `dataset/` layout, checked before anything is made.

    Raises:
        NoPaperData: it is not a folder, or lacks a file of the layout (`where` names the flag or
            variable it came from).
    """
    layout = ", ".join(rel for _name, rel, _read in LAYOUT)
    if not folder.is_dir():
        raise NoPaperData(f"{where}: folder does not exist (the paper's dataset/ layout: {layout})")
    missing = [rel for _name, rel, _read in LAYOUT if not (folder / rel).is_file()]
    if missing:
        raise NoPaperData(f"{where}: missing {', '.join(missing)} (the paper's dataset/ layout: "
                          f"{layout})")


def paper_data_in_store(open_store: Callable[[], Store]) -> int | None:
    """The paper import run of a store that holds every paper dataset, or None (also when there is
    no store yet: `open_store` opens it read-only and creates nothing)."""
    from kindling.store.importers import dataset_counts
    from kindling.store.queries import latest_import_run

    try:
        store = open_store()
    except StoreError:
        return None
    try:
        counts = dataset_counts(store)
        if any(not counts.get(name) for name, _rel, _read in LAYOUT):
            return None
        return latest_import_run(store)
    finally:
        store.close()


def no_data_message(base_url: str) -> str:
    """The one line that says how to get the paper data."""
    source = (f"{UPSTREAM_REPO}@{UPSTREAM_COMMIT[:12]}" if base_url == UPSTREAM_BASE_URL
              else base_url)
    return (f"no paper data: pass --from DIR (the paper's dataset/ folder), set "
            f"{PAPER_DATA_ENV}=DIR, or run `kindling data import --upstream` when online "
            f"(downloads about {DOWNLOAD_MB} MB from {source})")


def download_upstream(
    cache: Path, *, base_url: str, timeout_s: float = 60.0,
    warn: Callable[[str], None], on_file: Callable[[str, int], None] | None = None,
    expected: Mapping[str, str | None] = UPSTREAM_SHA256, where: str = "--cache-dir",
    fix: str = "move it away or choose another folder",
) -> Path:
    """The upstream files in `cache`, downloading those missing (each SHA-256 checked; a failure
    leaves the cache as it was).

    Raises:
        OutputError: the cache holds a wrong file Kindling did not write.
        UpstreamUnreachable: no network, or the server refused.
        DataImportError: an HTTP error or a SHA-256 mismatch, naming the URL.
    """
    check_cache(cache, where, fix)
    return fetch_upstream(cache, base_url=base_url, timeout_s=timeout_s, expected=expected,
                          warn=warn, on_file=on_file)


@dataclass(frozen=True)
class Download:
    """How `resolve_paper_data` fetches when it must: the cache, the hooks that report progress,
    and the SHA-256 each file must have."""

    cache: Path
    warn: Callable[[str], None]
    on_start: Callable[[list[str], str], None] = lambda todo, url: None
    on_file: Callable[[str, int], None] | None = None
    timeout_s: float = 60.0
    expected: Mapping[str, str | None] = field(default_factory=lambda: UPSTREAM_SHA256)


def resolve_paper_data(open_store: Callable[[], Store], explicit: Path | None,
                       download: Download, env: Mapping[str, str] | None = None) -> PaperData:
    """Find the paper data: the store, `explicit` (--from), `$KINDLING_PAPER_DATA`, the cache,
    else a download into the cache. `explicit` is checked even when the store holds the data (a
    wrong flag is never ignored).

    Raises:
        NoPaperData: a bad --from or variable folder, or nothing found and the server unreachable.
        OutputError: the cache holds a wrong file Kindling did not write.
        DataImportError: the download failed (HTTP error, SHA-256 mismatch); the cache is as it was.
    """
    env = os.environ if env is None else env
    if explicit is not None:
        check_folder(explicit, f"--from {explicit}")
    run_id = paper_data_in_store(open_store)
    if run_id is not None:
        return PaperData(None, f"already in the store (import run {run_id})")
    if explicit is not None:
        return PaperData(explicit, f"--from {explicit}")
    if named := env.get(PAPER_DATA_ENV):
        folder = Path(named).expanduser()
        check_folder(folder, f"${PAPER_DATA_ENV}={named}")
        return PaperData(folder, f"${PAPER_DATA_ENV}={named}")
    return _cached_or_downloaded(download, env.get(UPSTREAM_URL_ENV) or UPSTREAM_BASE_URL)


def _cached_or_downloaded(download: Download, base_url: str) -> PaperData:
    """A complete verified cache as it is, else the missing files downloaded into it."""
    cache = download.cache
    where, fix = "download cache", "move it away, or delete the folder to download it again"
    check_cache(cache, where, fix)
    todo = missing_files(cache, download.expected)
    if todo:
        download.on_start(todo, base_url)
    try:
        fetch_upstream(cache, base_url=base_url, timeout_s=download.timeout_s,
                       expected=download.expected, warn=download.warn, on_file=download.on_file)
    except UpstreamUnreachable as exc:
        raise NoPaperData(f"{no_data_message(base_url)}; {_unreachable(base_url, exc)}") from exc
    return PaperData(cache, f"{'downloaded to' if todo else 'cached download at'} {cache}")


def _unreachable(base_url: str, exc: UpstreamUnreachable) -> str:
    """`<host> could not be reached: <why>` (the socket's reason, not the whole URL)."""
    cause = exc.__cause__
    why = getattr(cause, "reason", None) or cause or exc
    return f"{urlsplit(base_url).netloc or base_url} could not be reached: {why}"


def find_paper_data(open_store: Callable[[], Store], explicit: Path | None) -> PaperData:
    """`resolve_paper_data` with the default cache, saying on the console where the data came
    from and each file a download fetched."""
    from kindling.context import console

    cache = default_cache_dir()

    def started(todo: list[str], url: str) -> None:
        console.print(f"downloading the paper data ({len(todo)} files) from {url} into {cache}",
                      highlight=False, soft_wrap=True)

    paper = resolve_paper_data(open_store, explicit, Download(
        cache, on_start=started,
        warn=lambda msg: console.print(f"[yellow]warning:[/] {msg}", highlight=False),
        on_file=lambda rel, size: console.print(f"downloaded {rel} ({size / 1e6:.1f} MB)",
                                                highlight=False)))
    console.print(f"paper data: {paper.origin}", highlight=False, soft_wrap=True)
    return paper
