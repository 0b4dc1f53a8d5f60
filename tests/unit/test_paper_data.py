"""Where the quickstart finds the paper data: the store, --from, $KINDLING_PAPER_DATA, a verified
cache, a download (against a stand-in file host), and the one line when there is none."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kindling.ingest.readers import DataImportError, file_sha256
from kindling.ingest.upstream import (
    UPSTREAM_BASE_URL,
    UPSTREAM_COMMIT,
    UPSTREAM_REPO,
    UPSTREAM_SHA256,
)
from kindling.store.db import Store
from kindling.store.errors import OutputError, StoreError

from kindling.services.paper_data import (
    PAPER_DATA_ENV,
    UPSTREAM_URL_ENV,
    Download,
    NoPaperData,
    PaperData,
    no_data_message,
    resolve_paper_data,
    upstream_base_url,
)
from tests.conftest import PaperDB
from tests.standin.upstream_files import UpstreamFilesStandIn


def _no_store() -> Store:
    raise StoreError("no Kindling store at sqlite:///kindling.db")  # what a missing file says


@pytest.fixture
def store_with_paper(tmp_path: Path, paper_db: PaperDB) -> Callable[[], Store]:
    paper_db.copy_to(tmp_path / "held.db")
    return lambda: Store(f"sqlite:///{tmp_path / 'held.db'}", create=False)


@pytest.fixture
def hashes(paper_data: Path) -> dict[str, str | None]:
    """Every file's SHA-256, the evaluation set's included (upstream's is unknown)."""
    return {rel: file_sha256(paper_data / rel) for rel in UPSTREAM_SHA256}


@pytest.fixture
def served(paper_data: Path) -> dict[str, bytes]:
    return {rel: (paper_data / rel).read_bytes() for rel in UPSTREAM_SHA256}


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A loopback port bound by nobody listening: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/dataset"


def _download(cache: Path, hashes: dict[str, str | None], log: list[str]) -> Download:
    return Download(cache, warn=log.append, on_file=lambda rel, size: log.append(rel),
                    on_start=lambda todo, url: log.append(f"start {len(todo)}"),
                    timeout_s=10, expected=hashes)


def _fill(cache: Path, paper_data: Path, rels: list[str]) -> None:
    for rel in rels:
        (cache / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paper_data / rel, cache / rel)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- the order: store, --from, $KINDLING_PAPER_DATA, cache -------------------------------------


def test_the_store_comes_first(store_with_paper: Callable[[], Store], paper_data: Path,
                               tmp_path: Path, dead_url: str) -> None:
    env = {PAPER_DATA_ENV: str(paper_data), UPSTREAM_URL_ENV: dead_url}
    found = resolve_paper_data(store_with_paper, paper_data, _download(tmp_path / "c", {}, []),
                               env)
    assert found.folder is None and found.origin.startswith("already in the store (import run ")


def test_a_store_without_every_paper_dataset_does_not_count(
    sqlite_url: str, paper_data: Path, tmp_path: Path
) -> None:
    Store(sqlite_url).close()  # a store, empty
    found = resolve_paper_data(lambda: Store(sqlite_url, create=False), paper_data,
                               _download(tmp_path / "c", {}, []), {})
    assert found == PaperData(paper_data, f"--from {paper_data}")


def test_from_comes_before_the_variable(paper_data: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    _fill(other, paper_data, list(UPSTREAM_SHA256))
    found = resolve_paper_data(_no_store, paper_data, _download(tmp_path / "c", {}, []),
                               {PAPER_DATA_ENV: str(other)})
    assert found == PaperData(paper_data, f"--from {paper_data}")


def test_the_variable_comes_before_the_cache(paper_data: Path, tmp_path: Path,
                                             hashes: dict[str, str | None]) -> None:
    cache = tmp_path / "cache"
    _fill(cache, paper_data, list(UPSTREAM_SHA256))
    found = resolve_paper_data(_no_store, None, _download(cache, hashes, []),
                               {PAPER_DATA_ENV: str(paper_data)})
    assert found == PaperData(paper_data, f"${PAPER_DATA_ENV}={paper_data}")


def test_a_complete_cache_is_used_with_no_request(
    paper_data: Path, tmp_path: Path, hashes: dict[str, str | None], served: dict[str, bytes]
) -> None:
    cache, log = tmp_path / "cache", []
    _fill(cache, paper_data, list(UPSTREAM_SHA256))
    with UpstreamFilesStandIn(served) as host:
        found = resolve_paper_data(_no_store, None, _download(cache, hashes, log),
                                   {UPSTREAM_URL_ENV: host.base_url})
    assert found == PaperData(cache, f"cached download at {cache}")
    assert host.requests == [] and log == []


# --- bad folders -------------------------------------------------------------------------------


def test_a_bad_from_is_refused_even_when_the_store_holds_the_data(
    store_with_paper: Callable[[], Store], tmp_path: Path
) -> None:
    with pytest.raises(NoPaperData, match=f"^--from {tmp_path / 'nope'}: folder does not exist"):
        resolve_paper_data(store_with_paper, tmp_path / "nope", _download(tmp_path, {}, []), {})


def test_a_bad_variable_names_the_variable(tmp_path: Path, paper_data: Path) -> None:
    with pytest.raises(NoPaperData, match=rf"^\${PAPER_DATA_ENV}=.*nope: folder does not exist"):
        resolve_paper_data(_no_store, None, _download(tmp_path / "c", {}, []),
                           {PAPER_DATA_ENV: str(tmp_path / "nope")})
    partial = tmp_path / "partial"
    _fill(partial, paper_data, ["sft/sft_data.json"])
    with pytest.raises(NoPaperData, match=rf"^\${PAPER_DATA_ENV}=.*partial: missing reward_model/"):
        resolve_paper_data(_no_store, None, _download(tmp_path / "c", {}, []),
                           {PAPER_DATA_ENV: str(partial)})


# --- the download -------------------------------------------------------------------------------


def test_missing_files_are_downloaded_into_the_cache(
    paper_data: Path, tmp_path: Path, hashes: dict[str, str | None], served: dict[str, bytes]
) -> None:
    cache, log = tmp_path / "cache", []
    _fill(cache, paper_data, ["sft/sft_data.json"])  # a cache half filled: the rest is fetched
    with UpstreamFilesStandIn(served) as host:
        found = resolve_paper_data(_no_store, None, _download(cache, hashes, log),
                                   {UPSTREAM_URL_ENV: host.base_url})
        assert found == PaperData(cache, f"downloaded to {cache}")
        assert len(host.requests) == 6 and "/dataset/sft/sft_data.json" not in host.requests
        assert log == ["start 6", *(r.removeprefix("/dataset/") for r in host.requests)]
        again = resolve_paper_data(_no_store, None, _download(cache, hashes, []),
                                   {UPSTREAM_URL_ENV: host.base_url})
    assert again.origin == f"cached download at {cache}" and len(host.requests) == 6
    assert _snapshot(cache) == served


def test_a_corrupt_download_is_a_clear_error_and_the_cache_stays(
    paper_data: Path, tmp_path: Path, hashes: dict[str, str | None], served: dict[str, bytes]
) -> None:
    cache = tmp_path / "cache"
    _fill(cache, paper_data, ["sft/sft_data.json"])
    before = _snapshot(cache)
    served["random_query.txt"] += b"\ntampered"
    with UpstreamFilesStandIn(served) as host, pytest.raises(DataImportError) as info:
        resolve_paper_data(_no_store, None, _download(cache, hashes, []),
                           {UPSTREAM_URL_ENV: host.base_url})
    assert f"{host.base_url}/random_query.txt: SHA-256 mismatch" in str(info.value)
    assert _snapshot(cache) == before


def test_a_corrupt_cached_file_is_refused_and_kept(
    paper_data: Path, tmp_path: Path, hashes: dict[str, str | None], served: dict[str, bytes]
) -> None:
    cache = tmp_path / "cache"
    _fill(cache, paper_data, list(UPSTREAM_SHA256))
    (cache / "grpo_data" / "test.parquet").write_bytes(b"not parquet")
    before = _snapshot(cache)
    with UpstreamFilesStandIn(served) as host, pytest.raises(OutputError) as info:
        resolve_paper_data(_no_store, None, _download(cache, hashes, []),
                           {UPSTREAM_URL_ENV: host.base_url})
    assert "grpo_data/test.parquet is not the upstream file" in str(info.value)
    assert host.requests == [] and _snapshot(cache) == before


def test_a_mirror_missing_a_file_names_the_url(
    tmp_path: Path, hashes: dict[str, str | None], served: dict[str, bytes]
) -> None:
    del served["random_query.txt"]
    with UpstreamFilesStandIn(served) as host, pytest.raises(DataImportError) as info:
        resolve_paper_data(_no_store, None, _download(tmp_path / "cache", hashes, []),
                           {UPSTREAM_URL_ENV: host.base_url})
    assert f"{host.base_url}/random_query.txt: download failed" in str(info.value)
    assert "404" in str(info.value) and not (tmp_path / "cache").exists()


def test_unreachable_gives_the_one_line_instruction(
    tmp_path: Path, hashes: dict[str, str | None], dead_url: str
) -> None:
    with pytest.raises(NoPaperData) as info:
        resolve_paper_data(_no_store, None, _download(tmp_path / "cache", hashes, []),
                           {UPSTREAM_URL_ENV: dead_url})
    message = str(info.value)
    assert message.startswith(f"no paper data: pass --from DIR (the paper's dataset/ folder), set "
                              f"{PAPER_DATA_ENV}=DIR, or run `kindling data import --upstream` "
                              f"when online (downloads about 6 MB from {dead_url})")
    assert "could not be reached" in message and "\n" not in message
    assert not (tmp_path / "cache").exists()


def test_the_instruction_names_upstream_at_its_commit() -> None:
    assert no_data_message(UPSTREAM_BASE_URL).endswith(
        f"(downloads about 6 MB from {UPSTREAM_REPO}@{UPSTREAM_COMMIT[:12]})")


def test_a_mirror_replaces_upstream_for_data_import_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPSTREAM_URL_ENV, raising=False)
    assert upstream_base_url() == UPSTREAM_BASE_URL
    monkeypatch.setenv(UPSTREAM_URL_ENV, "http://mirror.example/dataset")
    assert upstream_base_url() == "http://mirror.example/dataset"
