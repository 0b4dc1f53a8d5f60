"""Studio bugs a user met over a quickstart store, each checked in headless Chromium the way they
saw it: latency bars the Content-Security-Policy squashed to 1 px, a judge item page without its
text, verdict or warning, a GRPO-judge items table of hash keys and empty queries, an
evaluation of 21 s said to take 0 s, terminal hints ("--full") on web pages, "item item".

The store is the studio tests' one, plus a GRPO run whose reward is the judge, a judge run
stepped in the debugger, and an evaluation stored 21 s after it began.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from kindling.store.models import utcnow
from playwright.sync_api import Page, expect
from typer.testing import CliRunner

from kindling.cli import app
from kindling.services import judge_eval
from tests.integration.studio_store import (
    COPIED_REASON,
    GRPO_JUDGED,
    ITEMS,
    STEPPED_TEXT,
    StudioStore,
    add_grpo_judge_run,
    add_stepped_judge_run,
    build_studio_store,
)

EVAL_SECONDS = 21
CSP = "Content Security Policy"
SWEPT_RUNS = ("import", "curate", "judge", "judge_stepped", "adversarial", "sft", "rm", "grpo",
              "grpo_judge", "eval_rm", "eval_policy", "eval_timed")
"""A run page of each kind and shape (eval_rm's summary has nested figures, once "(--full)")."""
CLI_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
"""A command-line option (`--full`) in a page's text: a terminal hint on a web page."""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> StudioStore:
    """The studio store with the judged runs and a timed evaluation (overrides conftest's)."""
    built = build_studio_store(tmp_path_factory.mktemp("studio-bugs"))
    built.runs["grpo_judge"] = add_grpo_judge_run(built.store)
    built.runs["judge_stepped"] = add_stepped_judge_run(built.store)
    built.runs["judge_reused"] = add_stepped_judge_run(built.store, ITEMS[1][:2])  # judged before
    with pytest.MonkeyPatch.context() as patch:  # the evaluation's clock began 21 s earlier
        patch.setattr(judge_eval, "utcnow", lambda: utcnow() - timedelta(seconds=EVAL_SECONDS))
        built.runs["eval_timed"] = judge_eval.evaluate_judge_run(
            built.store, "judge", built.runs["judge"]).eval_run_id
    return built


@pytest.fixture
def console(page: Page) -> Iterator[list[str]]:
    """The page's console messages (a blocked inline style is reported there)."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    yield messages


def _judgment_key(base_url: str, page: Page, run: int, text: str) -> str:
    items = page.request.get(f"{base_url}/api/runs/{run}/items").json()["items"]
    return next(i["key"] for i in items if i["response"] == text)


def test_latency_bars_are_drawn_to_scale(page: Page, base_url: str, built: StudioStore,
                                         console: list[str]) -> None:
    run = built.runs["grpo_judge"]
    key = _judgment_key(base_url, page, run, GRPO_JUDGED[0][1])
    shares = [t["share"] for t in
              page.request.get(f"{base_url}/api/runs/{run}/items/{key}").json()["trace"]]
    assert len(shares) == 3 and max(shares) == 100 and min(shares) < 80  # three calls, unequal
    page.goto(f"{base_url}/runs/{run}/items/{key}")
    rows = page.locator("#trace tbody tr")
    expect(rows).to_have_count(3)
    for i, share in enumerate(shares):
        track = rows.nth(i).locator("svg.latency-bar").bounding_box()
        bar = rows.nth(i).locator("svg.latency-bar rect").bounding_box()
        assert track is not None and bar is not None and track["width"] > 150  # the whole cell
        assert bar["width"] == pytest.approx(track["width"] * share / 100, abs=1.5), (i, share)
    assert not [m for m in console if CSP in m], console


def test_a_judge_item_shows_its_text_verdict_and_warning(page: Page, base_url: str,
                                                         built: StudioStore) -> None:
    run = built.runs["judge_stepped"]
    page.goto(f"{base_url}/runs/{run}/items/item")  # where the debugger's "Open the item" goes
    query, text = STEPPED_TEXT
    expect(page.locator("#why p.q")).to_contain_text(query)
    expect(page.locator("#item-text")).to_have_text(text)
    expect(page.locator("#verdict")).to_contain_text("good (1)")
    expect(page.locator("#verdict")).to_contain_text("score 1.00")
    expect(page.locator("#judge-reason")).to_have_text(COPIED_REASON)
    expect(page.locator("#warnings li", has_text=f"'{COPIED_REASON}' is copied word for word")
           ).to_have_count(1)
    expect(page.locator("#trace tbody tr")).to_have_count(1)
    page.goto(f"{base_url}/runs/{built.runs['judge_reused']}/items/item")  # a reused verdict
    expect(page.locator("#item-text")).to_have_text(ITEMS[1][1])
    expect(page.locator("#verdict")).to_contain_text("good (1)")
    expect(page.locator("#label .badge-ok")).to_have_text("verdict agrees")
    expect(page.locator("#judged-by a")).to_have_text(re.compile(f"^run {built.runs['judge']}, "))
    expect(page.locator("#trace tbody tr")).to_have_count(1)  # the calls of the run that judged


def test_grpo_judge_items_show_text_verdict_and_readable_keys(page: Page, base_url: str,
                                                              built: StudioStore) -> None:
    page.goto(f"{base_url}/runs/{built.runs['grpo_judge']}")
    table = page.locator("#items")
    expect(table.locator("thead")).to_contain_text("judged text")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(GRPO_JUDGED))
    for i, (query, text) in enumerate(GRPO_JUDGED):
        row = rows.nth(i)
        expect(row.locator("td.query")).to_have_text(query)
        expect(row.locator("td.response")).to_have_text(text)
        expect(row.locator("td.reason")).to_have_text(COPIED_REASON)
        key = row.locator("a.item-link")
        expect(key).to_have_text(re.compile(r"^\d+$"))  # the judgment's number, not a hash
        expect(key).to_have_attribute("title", re.compile("stored judgment"))
    expect(rows.nth(0).locator("td.verdict")).to_contain_text("good (1)")
    expect(rows.nth(1).locator("td.verdict")).to_contain_text("not good (0)")
    expect(table).not_to_contain_text("detect")
    rows.nth(1).locator("a.item-link").click()
    expect(page.locator("#item-text")).to_have_text(GRPO_JUDGED[1][1])
    expect(page.locator("#verdict")).to_contain_text("score 0.00")
    expect(page.locator("#warnings")).to_contain_text("is copied word for word")


def test_an_evaluation_says_how_long_it_took(page: Page, base_url: str,
                                             built: StudioStore) -> None:
    run = built.runs["eval_timed"]
    page.goto(f"{base_url}/runs/{run}")
    finished = page.locator("#summary dt", has_text="finished").locator("xpath=following-sibling::dd[1]")
    expect(finished).to_contain_text(f"({EVAL_SECONDS} s)")
    shown = CliRunner().invoke(app, ["--db-url", built.url, "runs", "show", str(run)])
    assert shown.exit_code == 0 and f"({EVAL_SECONDS} s)" in shown.output, shown.output


def test_pages_say_no_terminal_hints_and_keep_the_csp(page: Page, base_url: str,
                                                      built: StudioStore,
                                                      console: list[str]) -> None:
    curate_key = page.request.get(
        f"{base_url}/api/runs/{built.runs['curate']}/items").json()["items"][0]["key"]
    urls = ["/", "/eval", "/principles", f"/principles/{built.versions[1]}",
            f"/runs/{built.runs['curate']}/items/{curate_key}",
            f"/runs/{built.runs['judge_stepped']}/items/item",
            *(f"/runs/{built.runs[name]}" for name in SWEPT_RUNS)]
    for url in urls:
        page.goto(base_url + url)
        text = page.locator("main").inner_text()
        assert not CLI_FLAG.findall(text), (url, CLI_FLAG.findall(text))
        assert not [m for m in console if CSP in m], (url, console)
    page.goto(f"{base_url}/runs/999999")  # a missing run: the web page links the runs list
    expect(page.locator("#error-message")).to_contain_text("no run with id 999999")
    expect(page.locator("#error-message")).not_to_contain_text("kindling runs")
    page.locator("#all-runs").click()
    expect(page.locator("#runs")).to_be_visible()


def test_item_headings_do_not_repeat_item(page: Page, base_url: str,
                                          built: StudioStore) -> None:
    run = built.runs["judge_stepped"]
    page.goto(f"{base_url}/runs/{run}")
    page.locator("#items a.item-link").first.click()  # the run page's item panel
    expect(page.locator("#item-title")).to_have_text("item")
    page.locator("#item-title a").click()  # the item's own page
    expect(page.locator("#item-label")).to_have_text("item")
    expect(page.locator("main h1")).not_to_contain_text("item item")
    page.goto(f"{base_url}/runs/{built.runs['curate']}")
    page.locator("#items a.item-link").first.click()
    expect(page.locator("#item-title")).to_have_text(re.compile(r"^item r\d+$"))
