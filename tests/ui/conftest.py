"""Fixtures of the studio's browser tests: a store with one run of each kind, the studio served
by uvicorn in a thread on a free 127.0.0.1 port, Debian's chromium driven by Playwright, and
where screenshots go (KINDLING_SCREENSHOTS=docs: docs/studio-*.png, the pictures
on docs/studio.md)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from kindling.studio.app import create_app
from tests.integration.studio_store import StudioStore, build_studio_store

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> StudioStore:
    return build_studio_store(tmp_path_factory.mktemp("studio-ui"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The studio's project folder; its configs/ starts empty and tests put configs there (the
    studio looks again at every request)."""
    folder = tmp_path_factory.mktemp("project")
    (folder / "configs").mkdir()
    return folder


@pytest.fixture(scope="module")
def base_url(built: StudioStore, project: Path) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(built.url, project=project),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the studio did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Browser]:
    """Chromium, started after the store is built (Playwright's sync API holds an event loop)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield tab
    context.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: KINDLING_SCREENSHOTS (relative to the repository), else a temp dir."""
    chosen = os.environ.get("KINDLING_SCREENSHOTS")
    folder = REPO / chosen if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


DOCS_FROM_TESTS = {"compare", "principles", "item"}
"""The pictures on docs/studio.md taken over the browser tests' store; the others there are of the
quickstart's real store (docs/screenshots.py), which KINDLING_SCREENSHOTS=docs leaves alone."""


def shot(page: Page, folder: Path, name: str) -> None:
    target = folder / f"studio-{name}.png"
    if folder.resolve() == (REPO / "docs").resolve() and name not in DOCS_FROM_TESTS:
        image = page.screenshot(full_page=True)  # taken and checked, not written over the docs'
        assert len(image) > 10_000
        return
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000  # a rendered page, not an empty image
