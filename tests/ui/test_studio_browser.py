"""The studio end to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

The app is served by uvicorn in a thread on a free 127.0.0.1 port, over a store with one run of
each kind. Each page is also saved as a screenshot: under the test's temporary folder, or, with
KINDLING_SCREENSHOTS=docs, as docs/studio-*.png, the pictures on docs/studio.md (install
fonts-wqy-zenhei first, or the Chinese text shows as boxes).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.integration.studio_store import XSS, StudioStore
from tests.ui.conftest import shot as _shot


def test_runs_page_lists_every_kind(page: Page, base_url: str, built: StudioStore,
                                    shots: Path) -> None:
    page.goto(base_url + "/")
    for kind in ("import", "curate", "judge", "adversarial", "sft", "rm", "grpo", "eval"):
        expect(page.locator("#runs td", has_text=kind).first).to_be_visible()
    _shot(page, shots, "runs")
    page.click(f'a[href="/runs/{built.runs["grpo"]}"]')
    expect(page.locator('figure.chart[data-series="reward"] canvas').first).to_be_visible()


def test_select_an_item_lights_its_nodes_and_shows_transcripts(page: Page, base_url: str,
                                                               built: StudioStore,
                                                               shots: Path) -> None:
    page.goto(f"{base_url}/runs/{built.runs['curate']}")
    row = page.locator("#items tr", has_text="新年好")
    expect(row).to_contain_text(XSS)  # store text shown as text, not run
    row.locator("a.item-link").click()
    expect(page.locator("#item-panel")).to_be_visible()
    expect(page.locator('#graph g.node.lit[data-node="judge"]')).to_have_count(1)
    expect(page.locator('#graph g.node.lit[data-node="critic"]')).to_have_count(1)
    expect(page.locator("#item-calls article.call")).to_have_count(4)
    judge = page.locator("#item-calls article.call", has_text="judge").first
    expect(judge.locator("pre.raw")).to_contain_text(XSS)
    page.locator("#item-path li", has_text="judge").first.click()
    expect(page.locator('#graph g.node.selected[data-node="judge"]')).to_have_count(1)
    assert page.evaluate("document.querySelectorAll('#item-panel script').length") == 0
    _shot(page, shots, "run")
    page.locator("#item-title a").click()
    expect(page.locator("h2", has_text="Agent transcripts")).to_be_visible()
    expect(page.locator('#graph g.node.lit[data-node="reflect"]')).to_have_count(1)
    _shot(page, shots, "item")


def test_edit_save_and_activate_a_principle_version(page: Page, base_url: str,
                                                    built: StudioStore,
                                                    shots: Path) -> None:
    root, child = built.versions
    page.goto(f"{base_url}/principles/{child}")
    expect(page.locator("#rules")).to_contain_text("规则二（改）")
    page.fill("#editor-text", "规则一\n规则二（浏览器改）\n规则三")
    page.fill("#editor-feedback", "从浏览器保存")
    page.check("#editor-activate")
    page.click("#editor-save")
    page.wait_for_url(lambda url: url.rsplit("/", 1)[1] not in (str(root), str(child)))
    new_id = int(page.url.rsplit("/", 1)[1])
    assert new_id not in (root, child)
    expect(page.locator("#active-flag")).to_be_visible()
    expect(page.locator("#chain li")).to_have_count(3)  # new → child → root
    expect(page.locator("#chain")).to_contain_text(f"#{child}")
    page.goto(f"{base_url}/principles?kind=detector")
    expect(page.locator(f'#lineage tr[data-version="{new_id}"]')).to_contain_text("manual")
    expect(page.locator(f'#lineage tr[data-version="{new_id}"] td.depth-2')).to_have_count(1)
    expect(page.locator("#lineage")).to_contain_text(XSS)  # a name with markup, as text
    _shot(page, shots, "principles")
    page.check(f'input[name="a"][value="{child}"]')
    page.check(f'input[name="b"][value="{new_id}"]')
    page.click("#compare button")
    expect(page.locator("#diff tr.diff-replace")).to_contain_text("规则二（浏览器改）")


def test_eval_page_shows_the_baseline_beside_each_figure(page: Page, base_url: str,
                                                          shots: Path) -> None:
    page.goto(base_url + "/eval")
    expect(page.locator("th", has_text="acc len>39").first).to_be_visible()
    expect(page.locator("caption", has_text="reward model: pairwise accuracy")).to_be_visible()
    _shot(page, shots, "eval")


def test_a_grpo_run_opens_with_its_verdict_and_a_step_shows_its_samples(
        page: Page, base_url: str, built: StudioStore, shots: Path) -> None:
    page.goto(f"{base_url}/runs/{built.runs['grpo_capped']}")
    verdict = page.locator("#verdict")
    expect(verdict).to_be_in_viewport()  # the first screen, above the run's metadata
    assert page.evaluate("document.querySelector('#verdict').compareDocumentPosition("
                         "document.querySelector('#summary')) & Node.DOCUMENT_POSITION_FOLLOWING")
    expect(page.locator("#verdict-headline")).to_contain_text("Length ×2.5; cut at the token cap")
    expect(verdict).to_contain_text("all completions hit the 16-token cap from step 4 on: "
                                    "the cap, not the model, stops them")
    _shot(page, shots, "grpo")
    verdict.locator("a.step-link", has_text="step 4").first.click()
    expect(page).to_have_url(re.compile(r"\?step=4#step-4$"))
    expect(page.locator("#step-4")).to_be_in_viewport()
    expect(page.locator("#step-figures")).to_contain_text("cut at the token cap100%")
    expect(page.locator("#step-samples article.sample")).to_have_count(2)
    expect(page.locator("#step-samples .badge").first).to_have_text("hit the token cap")
    page.select_option("#step-select", "6")  # the picker: a plain form, no script
    page.click("#step-go")
    expect(page.locator("article.grpo-step")).to_have_attribute("data-step", "6")
    expect(page.locator("#step-samples")).to_contain_text(XSS)  # a completion's markup, as text
    assert page.evaluate("document.querySelectorAll('#samples script').length") == 0
    page.click("#step-prev")
    expect(page.locator("article.grpo-step h3")).to_have_text("Step 5")
    page.goto(f"{base_url}/runs/{built.runs['grpo_flat']}")
    expect(page.locator("#verdict-lines li").first).to_have_text(
        "The reward was 0.00 at every step: the policy got no signal.")
    expect(page.locator("#no-samples")).to_contain_text("this run kept none")

