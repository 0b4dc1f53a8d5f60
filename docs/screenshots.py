"""Retake the studio's pictures on the docs pages over a real project's store.

Run it in a project folder where `kindling quickstart` has finished (and, for the Path A pictures,
a `kindling curate` run): it serves the studio over that folder's kindling.db on a free loopback
port, drives Debian's chromium headless through Playwright and writes docs/studio-*.png:

    cd my-project && python /path/to/kindling/docs/screenshots.py --out /path/to/kindling/docs

`--debug-config configs/curate_local.yaml` also steps one Path A item in the debugger (the offline
llama.cpp model: a few minutes) for the debugger's pictures. Nothing is written to the store but
that debug run.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import uvicorn
from kindling.store.db import Store
from kindling.store.models import Run
from playwright.sync_api import Page, expect, sync_playwright

from kindling.studio.app import create_app

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1360, "height": 900}


def serve(url: str, project: Path) -> str:
    """The studio over `url` in a daemon thread; its base address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(url, project=project), host="127.0.0.1",
                                           port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the studio did not start")
        time.sleep(0.1)
    return f"http://127.0.0.1:{port}"


def runs_by_name(url: str) -> dict[str, Run]:
    """The store's runs by name (the latest of a name wins), and the last run of each kind by
    `kind:` + kind."""
    store = Store(url, create=False)
    try:
        with store.session() as s:
            runs = s.query(Run).order_by(Run.id).all()
            s.expunge_all()
    finally:
        store.close()
    found: dict[str, Run] = {}
    for run in runs:
        found[f"kind:{run.kind}"] = run
        if run.name:
            found[run.name] = run
    return found


def shot(page: Page, out: Path, name: str, *, full: bool = True, selector: str | None = None) -> None:
    target = out / f"studio-{name}.png"
    if selector:
        page.locator(selector).first.screenshot(path=str(target))
    else:
        page.screenshot(path=str(target), full_page=full)
    print(f"wrote {target}")


def training_pictures(page: Page, base: str, out: Path, runs: dict[str, Run]) -> None:
    """The runs list, the GRPO runs' pages (verdict, charts, samples), the overlay, evaluations."""
    page.goto(base + "/")
    shot(page, out, "runs")
    hacked, held, judged = runs.get("grpo-rm"), runs.get("grpo-rm+length"), runs.get("grpo-judge")
    if hacked:
        page.goto(f"{base}/runs/{hacked.id}")
        expect(page.locator("#verdict")).to_be_visible()
        shot(page, out, "grpo-verdict", full=False)  # the first screen
        shot(page, out, "quickstart-hacking")
        shot(page, out, "curves", selector="#charts-wrap")
        reward = page.locator('figure[data-series="reward"]')
        expect(reward).to_have_attribute("data-drawn", "true")
        reward.scroll_into_view_if_needed()
        box = reward.locator(".u-over").bounding_box()
        if box:
            page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
            page.wait_for_timeout(300)
            reward.screenshot(path=str(out / "studio-charts.png"))
        options = page.locator("#step-select option").all()
        if options:
            last = options[-1].get_attribute("value")
            page.goto(f"{base}/runs/{hacked.id}?step={last}#step-{last}")
            shot(page, out, "grpo-samples", selector="#samples")
    if held:
        page.goto(f"{base}/runs/{held.id}")
        shot(page, out, "quickstart-run")
    if judged:
        page.goto(f"{base}/runs/{judged.id}")
        shot(page, out, "quickstart-judge", full=False)
    if hacked and held:
        page.goto(f"{base}/compare?runs={hacked.id}&runs={held.id}")
        shot(page, out, "quickstart-overlay")
    page.goto(base + "/eval")
    shot(page, out, "eval")


def curate_pictures(page: Page, base: str, out: Path, runs: dict[str, Run]) -> None:
    """A Path A run with an item selected, and that item's page."""
    curate = runs.get("kind:curate")
    if curate is None:
        print("no curate run in this store: the Path A pictures are left as they are")
        return
    page.goto(f"{base}/runs/{curate.id}")
    link = page.locator("a.item-link").first
    link.click()
    expect(page.locator("#item-panel")).to_be_visible()
    shot(page, out, "run")
    page.goto(base + link.get_attribute("href"))
    shot(page, out, "why")


def debugger_pictures(page: Page, base: str, out: Path, config: str) -> None:
    """One Path A item stepped from the debugger page: while a step runs, paused before the judge,
    and after the reflector with the item's warnings."""
    page.goto(base + "/debug")
    page.select_option("#debug-graph", "curate")
    page.select_option("#debug-config", config)
    page.fill("#debug-sets", "limit=1")
    page.fill("#debug-name", "stepped from the studio")
    page.check('fieldset[data-graph="curate"] input[name="before"][value="judge"]')
    page.check('fieldset[data-graph="curate"] input[name="after"][value="reflect"]')
    page.click("#debug-go")
    page.wait_for_url("**/debug/*")
    page.wait_for_timeout(3_000)
    shot(page, out, "debug-starting", full=False)
    expect(page.locator("#stop-reason")).to_contain_text("paused before", timeout=600_000)
    page.click("#do-continue")
    page.wait_for_timeout(6_000)
    shot(page, out, "debug-running", full=False)
    expect(page.locator("#stop-reason")).to_contain_text("before judge", timeout=900_000)
    shot(page, out, "debug")
    page.click("#do-continue")
    expect(page.locator("#stop-reason")).to_contain_text("after reflect", timeout=900_000)
    shot(page, out, "debug-warnings")
    page.click("#do-continue")
    expect(page.locator("#stop-reason")).to_contain_text("finished", timeout=900_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, default=Path("."), help="the project folder")
    parser.add_argument("--out", type=Path, required=True, help="where the pictures go (docs/)")
    parser.add_argument("--debug-config", help="a project config to step one Path A item with")
    args = parser.parse_args()
    project = args.project.resolve()
    url = f"sqlite:///{project / 'kindling.db'}"
    runs = runs_by_name(url)
    base = serve(url, project)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        training_pictures(page, base, args.out, runs)
        curate_pictures(page, base, args.out, runs)
        if args.debug_config:
            debugger_pictures(page, base, args.out, args.debug_config)
        browser.close()


if __name__ == "__main__":
    main()
