"""Download the paper's `dataset/` from upstream at a pinned commit, every file SHA-256 checked."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from kindling.ingest.data_files import file_sha256
from kindling.store.bounded import data_limit, too_large
from kindling.store.errors import DataImportError

UPSTREAM_REPO = "weixiaolong94-hub/Igniting-Creative-Writing-in-Small-Language-Models"
UPSTREAM_COMMIT = "992c22870158a93ae81d882e7f13ff2b04691520"
UPSTREAM_BASE_URL = f"https://raw.githubusercontent.com/{UPSTREAM_REPO}/{UPSTREAM_COMMIT}/dataset"
# SHA-256 of each upstream file at UPSTREAM_COMMIT. The evaluation set's hash is unknown: the only
# copy at hand is trimmed (1,606 of 2,000 rows), so its entry is None and fetch_upstream accepts
# that file unverified, with a warning. Fill it in once the upstream file has been checked.
UPSTREAM_SHA256: dict[str, str | None] = {
    "sft/sft_data.json": "b617fea34d4b7519eaeef2215cca3edb1b5136e236ccf2fd73c37b666a40cbfc",
    "reward_model/reward_data_train.json":
        "4086e5fc4f566dbe3b48dad4fb002ba6b118ad454f1fc34643299fc88dd6f842",
    "reward_model/reward_data_test.json":
        "c705e33035ad637384660276719768f98a4063517e1f815951e0aa84353c719d",
    "grpo_data/train.parquet": "3fba5999ed5d18660ae0ddff4ca52f5a4206df3450824252886019d441b05ef7",
    "grpo_data/test.parquet": "a82c54bec6669a2d2b8cecb5f30ba771c026afdaae41d7891918daad5417336c",
    "evaluation_set/evaluate_data.json": None,
    "random_query.txt": "b0f620023adc25fc3870a24e37fe63434898b797608bbc3d74be02e54f665cb8",
}


class UpstreamUnreachable(DataImportError):
    """The upstream server could not be reached (no network, refused, timed out, reset)."""


def fetch_upstream(
    dest: Path, *, base_url: str = UPSTREAM_BASE_URL, timeout_s: float = 60.0,
    expected: Mapping[str, str | None] = UPSTREAM_SHA256,
    warn: Callable[[str], None] = lambda msg: print(f"warning: {msg}", file=sys.stderr),
    on_file: Callable[[str, int], None] | None = None,
) -> Path:
    """Download upstream's `dataset/` files into `dest`, verifying each file's SHA-256.

    Files already in `dest` with the expected hash are kept. Downloads land in a temporary folder
    and move into `dest` only once every file has verified, so a failure leaves `dest` untouched.

    Args:
        dest: Target folder (e.g. ~/.cache/kindling/igniting/<commit>); created if needed.
        base_url: URL of the `dataset/` folder at the pinned commit.
        timeout_s: Timeout of each HTTP request, in seconds.
        expected: SHA-256 per relative path; None means unknown (accepted with a warning).
        warn: Called with a message for each file that could not be verified.
        on_file: Called with each downloaded file's relative path and size, once it verified.

    Returns:
        `dest`, now holding every file of `expected`.

    Raises:
        UpstreamUnreachable: The server could not be reached.
        DataImportError: A download failed (an HTTP error) or a file's SHA-256 does not match.
    """
    dest = Path(dest)
    todo = missing_files(dest, expected)
    if todo:
        with tempfile.TemporaryDirectory(prefix="kindling-fetch-") as tmp:
            for rel in todo:
                url = f"{base_url.rstrip('/')}/{rel}"
                size = _download(url, Path(tmp) / rel, expected[rel], timeout_s)
                if on_file is not None:
                    on_file(rel, size)
            for rel in todo:
                _place(Path(tmp) / rel, dest / rel)
    for rel, digest in expected.items():
        if digest is None:
            warn(f"{rel}: no known upstream SHA-256, file not verified")
    return dest


def missing_files(dest: Path, expected: Mapping[str, str | None] = UPSTREAM_SHA256) -> list[str]:
    """The relative paths of `expected` that `dest` does not hold verified (all: nothing cached)."""
    return [rel for rel, digest in expected.items() if not is_verified(Path(dest) / rel, digest)]


def is_verified(path: Path, digest: str | None) -> bool:
    """Whether `path` is a file with the expected SHA-256 (any file when none is known)."""
    return path.is_file() and (digest is None or file_sha256(path) == digest)


def _download(url: str, target: Path, digest: str | None, timeout_s: float) -> int:
    """Download `url` to `target` within the size bound, check its SHA-256; returns its size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    hasher, limit, size = hashlib.sha256(), data_limit(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp, target.open("wb") as out:
            for block in iter(lambda: resp.read(1 << 20), b""):
                size += len(block)
                if size > limit:
                    raise DataImportError(url, too_large(limit, "data file"))
                hasher.update(block)
                out.write(block)
    except urllib.error.HTTPError as exc:  # the server answered: a wrong URL or a mirror's fault
        raise DataImportError(url, f"download failed: {exc}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:  # no network, resets
        raise UpstreamUnreachable(url, f"download failed: {exc}") from exc
    except OSError as exc:  # the temporary folder could not be written, a TLS failure
        raise DataImportError(url, f"download failed: {exc}") from exc
    if digest is not None and hasher.hexdigest() != digest:
        raise DataImportError(url, f"SHA-256 mismatch: expected {digest}, got {hasher.hexdigest()}")
    return size


def _place(src: Path, target: Path) -> None:
    """Copy `src` to `target` atomically (via a .part file and a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    shutil.copyfile(src, part)
    os.replace(part, target)
