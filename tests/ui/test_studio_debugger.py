"""The studio as a debugger, in headless Chromium: why an item was judged so (label, warnings,
trace), filters, two runs compared, a run watched live as it goes against the stand-in server,
break / edit / continue and fork from the page, and training runs overlaid.

Each page is also saved as a screenshot (see conftest.py; KINDLING_SCREENSHOTS=docs for the
pictures on docs/studio.md).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kindling.store.models import Response, Run
from playwright.sync_api import Page, expect
from sqlalchemy import select

from kindling.services.curate import CurateRunner
from tests.integration.helpers import DEGENERATE, http_config
from tests.integration.studio_store import XSS, StudioStore
from tests.standin.config import StandinConfig
from tests.standin.process import StandinServer
from tests.ui.conftest import shot

EDITED = "亲爱的你，新年快乐！愿你在新的一年里被温柔以待，所行皆坦途，所愿皆成真。"


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    """A stand-in OpenAI-compatible server answering every role, 0.4 s a call (a run that
    lasts long enough to be watched)."""
    with StandinServer(StandinConfig(latency_s=0.4)) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def standin_config(standin: str, project: Path) -> Path:
    """A curate config pointing at the stand-in, in the project's configs/ folder."""
    path = project / "configs" / "curate_standin.yaml"
    path.write_text(http_config(standin, key_env="KINDLING_UI_KEY").model_dump_json(),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def slow_config(project: Path) -> Iterator[Path]:
    """A curate config (in configs/, listed after curate_standin.yaml) at a stand-in answering
    each call after 0.8 s as the offline 135M model does: an action long enough to watch."""
    with StandinServer(StandinConfig(latency_s=0.8, role_responses=DEGENERATE)) as server:
        path = project / "configs" / "slow_standin.yaml"
        cfg = http_config(server.base_url, key_env="KINDLING_UI_KEY", limit=1)
        cfg.llm.timeout_s = 10.0
        path.write_text(cfg.model_dump_json(), encoding="utf-8")
        yield path.resolve()
        path.unlink()


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINDLING_UI_KEY", "standin-key")


def _item_key(built: StudioStore, run: str, text: str) -> str:
    from kindling.store.run_items import list_items

    items = list_items(built.store, built.runs[run], "curate", offset=0, limit=50)["items"]
    return next(i["key"] for i in items if text in (i["response"] or ""))


def test_an_item_says_why_label_warnings_and_trace(page: Page, base_url: str,
                                                    built: StudioStore, shots: Path) -> None:
    run = built.runs["curate_b"]
    key = _item_key(built, "curate_b", "生日快乐")
    page.goto(f"{base_url}/runs/{run}/items/{key}")
    expect(page.locator("#label")).to_contain_text("not good (0)")
    expect(page.locator("#label .badge-bad")).to_have_text("verdict disagrees")
    warnings = page.locator("#warnings li")
    expect(warnings.filter(has_text="advocate found no strengths")).to_have_count(1)
    expect(warnings.filter(has_text="'最终理由' is copied word for word")).to_have_count(1)
    expect(warnings.filter(has_text="says overturned true but its verdict 1 keeps")).to_have_count(1)
    expect(page.locator("#trace tbody tr")).to_have_count(4)
    expect(page.locator("#trace tbody tr").first).to_contain_text("ms")
    shot(page, shots, "why")
    # the agreeing run's same item: label agrees, no warnings
    page.goto(f"{base_url}/runs/{built.runs['curate']}/items/"
              f"{_item_key(built, 'curate', '生日快乐')}")
    expect(page.locator("#label .badge-ok")).to_have_text("verdict agrees")
    expect(page.locator("#warnings")).to_have_count(0)


def test_filter_items_by_agreement_and_compare_two_runs(page: Page, base_url: str,
                                                        built: StudioStore, shots: Path) -> None:
    a, b = built.runs["curate"], built.runs["curate_b"]
    page.goto(f"{base_url}/runs/{b}")
    page.select_option("#filter-agreement", "disagree")
    page.click("#filter-go")
    expect(page.locator("#items tbody tr")).to_have_count(2)  # two bad texts judged good
    expect(page.locator("#items")).to_contain_text(XSS)  # stored markup shown as text
    page.select_option("#filter-agreement", "agree")
    page.click("#filter-go")
    expect(page.locator("#items tbody tr")).to_have_count(1)
    page.goto(f"{base_url}/compare?a={a}&b={b}&changed=true")
    expect(page.locator("#compare-summary")).to_contain_text("3 items in both runs")
    expect(page.locator("#compare-summary")).to_contain_text(f"run {a} agrees on 3 (100%)")
    expect(page.locator("#compare-items tbody tr.changed")).to_have_count(2)
    expect(page.locator("#compare-items")).to_contain_text(XSS)
    assert page.evaluate("document.querySelectorAll('#compare-items script').length") == 0
    shot(page, shots, "compare")


def test_overlay_two_training_runs(page: Page, base_url: str, built: StudioStore,
                                   shots: Path) -> None:
    sft, grpo = built.runs["sft"], built.runs["grpo"]
    page.goto(f"{base_url}/compare")
    page.check(f"#pick-{sft}")
    page.check(f"#pick-{grpo}")
    page.click("#overlay-go")
    chart = page.locator('#overlay figure.chart[data-series="loss"]')
    expect(chart).to_have_attribute("data-drawn", "true")
    expect(chart.locator(".u-legend")).to_contain_text(f"run {sft}")
    expect(chart.locator(".u-legend")).to_contain_text(f"run {grpo}")
    page.goto(f"{base_url}/runs/{grpo}")
    expect(page.locator('#charts-primary figure[data-series="reward"] canvas').first).to_be_visible()
    expect(page.locator("#charts-constant")).to_contain_text("learning_rate = 0.0001")
    expect(page.locator("#charts-signals")).to_contain_text("Reward-hacking signals")
    expect(page.locator("#watch-alerts li")).to_contain_text("length_drift > 0.3 for 3 steps")
    expect(page.locator('#charts-signals figure[data-series="watch/self_bleu"]')).to_have_count(1)
    assert page.evaluate("document.querySelectorAll('#charts-signals script').length") == 0
    shot(page, shots, "curves")


def test_a_running_run_updates_without_reloading(page: Page, base_url: str, built: StudioStore,
                                                 standin_config: Path) -> None:
    from kindling.agents.config import load_config
    from kindling.agents.curate.config import CurateConfig

    cfg = load_config(CurateConfig, standin_config, {"concurrency": 1})
    runner = CurateRunner(built.store, cfg, new_run=True, show_progress=False, name="live")
    thread = threading.Thread(target=lambda: asyncio.run(runner.run()), daemon=True)
    thread.start()
    run_id = _wait_for_run(built, "live")
    page.goto(f"{base_url}/runs/{run_id}")
    expect(page.locator("#live")).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#live-verdicts li").first).to_be_visible(timeout=30_000)
    assert page.evaluate("window.__notReloaded === true")  # the list grew in place
    thread.join(timeout=60)
    expect(page.locator("#run-status")).to_have_text("finished", timeout=10_000)


def _wait_for_run(built: StudioStore, name: str) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with built.store.session() as s:
            found = s.scalars(select(Run.id).where(Run.name == name)).first()
        if found is not None:
            return int(found)
        time.sleep(0.05)
    raise AssertionError(f"no run named {name!r} started")


def test_break_edit_continue_from_the_page(page: Page, base_url: str, built: StudioStore,
                                           standin_config: Path, project: Path,
                                           shots: Path) -> None:
    page.goto(f"{base_url}/debug")
    expect(page.locator("#debug-project")).to_have_text(str(project.resolve()))
    config = page.locator("#debug-config")
    expect(config).to_have_value("configs/curate_standin.yaml")  # the project's, chosen first
    page.select_option("#debug-graph", "judge")  # a curate config does not fit the judge graph
    expect(config).to_have_value("")
    expect(page.locator("#debug-config-none")).to_be_visible()
    page.select_option("#debug-graph", "curate")
    expect(page.locator("#debug-config-none")).to_be_hidden()
    page.select_option("#debug-config", "configs/curate_standin.yaml")
    page.fill("#debug-sets", "limit=1\nllm.base_url=http://127.0.0.1:9/v1")
    page.click("#debug-go")  # the endpoint comes from the config: refused, said on the page
    expect(page.locator("#debug-status")).to_contain_text("may not change llm.base_url")
    page.fill("#debug-sets", "limit=1")
    page.fill("#debug-name", f"stepped {XSS}")
    page.check('fieldset[data-graph="curate"] input[name="before"][value="judge"]')
    shot(page, shots, "debug-start")
    page.click("#debug-go")
    expect(page.locator("#stop-reason")).to_contain_text("paused before", timeout=30_000)
    page.click("#do-continue")
    expect(page.locator("#stop-reason")).to_contain_text("breakpoint before judge",
                                                         timeout=30_000)
    expect(page.locator('#graph g.node.current[data-node="judge"]')).to_have_count(1)
    row = page.locator('#state tr[data-field="candidate"]')
    row.locator("textarea").fill(EDITED)
    row.locator("button.set-field").click()
    expect(page.locator("#stop-reason")).to_contain_text("edited", timeout=30_000)
    expect(page.locator('#state tr.changed[data-field="candidate"]')).to_have_count(1)
    shot(page, shots, "debug")
    page.click("#do-continue")
    expect(page.locator("#stop-reason")).to_contain_text("finished", timeout=30_000)
    page.locator("#debug-controls a", has_text="Open the item").click()
    expect(page.locator("#item-text")).to_have_text(EDITED)  # the text the judge saw
    expect(page.locator("h1 .badge-warn", has_text="edited: candidate")).to_have_count(1)
    expect(page.locator("#warnings")).to_contain_text("candidate was edited after")
    expect(page.locator("h1")).to_contain_text(f"stepped {XSS}")  # a name with markup, as text
    with built.store.session() as s:
        origin = s.scalars(select(Response.origin).where(Response.text == EDITED)).one()
    assert origin == "edited"
    page.goto(base_url + "/")
    expect(page.locator("#runs tr", has_text=f"stepped {XSS}")).to_contain_text(
        "edited: candidate")


def test_fork_a_stored_run_at_a_checkpoint_from_its_item_page(
        page: Page, base_url: str, built: StudioStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from kindling.agents.llm.llama_server import LlamaServer

    ready = LlamaServer._wait_ready

    def slow_ready(self: LlamaServer) -> None:
        """The server starts in about 0.6 s here and the page asks twice a second: held up
        1.5 s so that the notice is there when the page asks (else the check is a coin toss)."""
        ready(self)
        time.sleep(1.5)

    monkeypatch.setattr(LlamaServer, "_wait_ready", slow_ready)  # the studio runs in this process
    run = built.runs["curate"]
    page.goto(f"{base_url}/runs/{run}/items/{_item_key(built, 'curate', '新年好')}")
    expect(page.locator("#item-text")).to_contain_text(XSS)  # stored markup, as text
    assert page.evaluate("document.querySelectorAll('#why script').length") == 0
    page.locator("#steps button.fork").first.click()  # builds the run's local model: give it time
    expect(page.locator("#activity-what")).to_contain_text(  # the page says what it waits for
        "starting the local llama.cpp server", timeout=30_000)
    expect(page.locator("#stop-reason")).to_contain_text("paused before", timeout=60_000)
    expect(page.locator("#state")).to_contain_text(XSS)
    assert page.evaluate("document.querySelectorAll('#state script').length") == 0
    page.click("#do-quit")
    expect(page.locator("#debug-controls")).to_contain_text("This session has ended",
                                                            timeout=30_000)


def test_the_page_shows_what_runs_and_the_warnings_at_a_stop(page: Page, base_url: str,
                                                              slow_config: Path,
                                                              shots: Path) -> None:
    page.goto(f"{base_url}/debug")
    page.select_option("#debug-config", "configs/slow_standin.yaml")
    expect(page.locator("#debug-config-file")).to_have_text(str(slow_config))
    page.check('fieldset[data-graph="curate"] input[name="after"][value="reflect"]')
    page.click("#debug-go")
    expect(page.locator("#stop-reason")).to_contain_text("paused before", timeout=30_000)
    expect(page.locator("#debug-config-used")).to_contain_text(str(slow_config))
    page.click("#do-continue")  # the debate, the judge, the reflector: 0.8 s each
    expect(page.locator("#activity-what")).to_have_text(
        re.compile("running (advocate ∥ critic|critic ∥ advocate)"))
    expect(page.locator('#graph g.node.running[data-node="critic"]')).to_have_count(1)
    expect(page.locator("#do-step")).to_be_disabled()
    session = page.url.rsplit("/", 1)[1]
    second = page.request.post(f"{base_url}/api/debug/sessions/{session}",
                               data={"action": "step"}, headers={"Origin": base_url})
    assert second.status == 409 and "still running continue" in second.json()["detail"]
    expect(page.locator("#activity-elapsed")).to_have_text(re.compile(r"^[1-9][0-9]* s$"))
    shot(page, shots, "debug-running")
    expect(page.locator("#stop-reason")).to_contain_text("breakpoint after reflect",
                                                         timeout=30_000)
    expect(page.locator("#debug-activity")).to_be_hidden()
    warnings = page.locator("#stop-warnings li")
    expect(warnings.filter(has_text="'最终理由' is copied word for word")).to_have_count(1)
    expect(warnings.filter(has_text="says overturned true but its verdict 1 keeps")).to_have_count(1)
    shot(page, shots, "debug-warnings")
    page.click("#do-quit")
    expect(page.locator("#debug-controls")).to_contain_text("This session has ended",
                                                            timeout=30_000)
