"""The studio's charts and runs list in headless Chromium: hover values, smoothing, zoom, the log
scale, whole-number steps, what a flat reward and the clipped ratio say, no Content-Security-
Policy violation, and the runs list's checkboxes leading to an overlay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kindling.store import work
from playwright.sync_api import Page, expect

from tests.integration.studio_store import StudioStore


def _judge_arm_steps() -> list[dict]:
    """Two GRPO steps of a judge arm that passes every completion, cut at the length cap."""
    return [{"step": 1, "loss": 0.01, "reward": 1.0, "rewards/judge/mean": 1.0, "kl": 0.0,
             "completions/mean_length": 60.0, "completions/clipped_ratio": 0.5,
             "watch/length_chars": 50.0, "watch/length_drift": 0.0},
            {"step": 2, "loss": 0.012, "reward": 1.0, "rewards/judge/mean": 1.0, "kl": 0.001,
             "completions/mean_length": 64.0, "completions/clipped_ratio": 1.0,
             "watch/length_chars": 51.0, "watch/length_drift": 0.02}]


@pytest.fixture(scope="module")
def two_steps(built: StudioStore) -> int:
    """A finished two-step GRPO run, added to this module's store."""
    run, _ = work.get_or_create_run(built.store, kind="grpo", run_key=None, config={},
                                    code_version="test", name="judge arm")
    work.finish_run(built.store, run.id, "finished", {"steps": _judge_arm_steps()})
    return run.id


@pytest.fixture
def console(page: Page) -> Iterator[list[str]]:
    """The page's console errors and uncaught exceptions (a blocked script or style shows here
    as "Refused to ..."); the favicon the browser asks for by itself is not the studio's."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield errors
    assert errors == [], errors


def _legend(page: Page, series: str) -> dict[str, str]:
    """A chart's legend as label → value text."""
    rows = page.locator(f'figure[data-series="{series}"] .u-legend tr.u-series')
    return {r.locator("th").inner_text().strip(): r.locator("td").inner_text().strip()
            for r in rows.all()}


def _hover(page: Page, series: str, x: float, y: float, raw: bool) -> dict[str, str]:
    """Move the mouse to (x, y) and wait until the chart's legend gives the step under the cursor
    (uPlot redraws its legend on the next animation frame), with or without a raw row."""
    page.mouse.move(x, y)
    selector = f'figure[data-series="{series}"] .u-legend tr.u-series'
    page.wait_for_function(
        """([sel, raw]) => { const rows = [...document.querySelectorAll(sel)];
             const step = rows.length ? rows[0].querySelector("td").textContent.trim() : "";
             const hasRaw = rows.some(r => r.querySelector("th").textContent.includes("(raw)"));
             return /^[0-9]+$/.test(step) && hasRaw === raw; }""", arg=[selector, raw])
    return _legend(page, series)


def _y_ticks(page: Page, series: str) -> list[str]:
    return (page.locator(f'figure[data-series="{series}"]').get_attribute("data-y-ticks")
            or "").split()


def _canvas(page: Page, series: str) -> str:
    return page.locator(f'figure[data-series="{series}"] canvas').evaluate("c => c.toDataURL()")


def _smoothing(page: Page, value: float) -> None:
    page.locator("#chart-smoothing").evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", str(value))


def test_hover_smoothing_zoom_and_log_scale(page: Page, base_url: str, built: StudioStore,
                                            console: list[str], shots: Path) -> None:
    page.goto(f"{base_url}/runs/{built.runs['grpo']}")
    reward = page.locator('figure[data-series="reward"]')
    expect(reward).to_have_attribute("data-drawn", "true")
    expect(page.locator("#chart-controls")).to_be_visible()
    # off the chart the legend gives the last values; hovering gives the step under the cursor
    assert _legend(page, "reward")["step"] == "8 (last)"
    reward.scroll_into_view_if_needed()
    box = reward.locator(".u-over").bounding_box()
    assert box is not None
    legend = _hover(page, "reward", box["x"] + box["width"] * 0.43,
                    box["y"] + box["height"] / 2, raw=True)
    step = int(legend["step"])
    assert 2 <= step <= 6 and float(legend["reward (raw)"]) == pytest.approx(0.1 * step)
    smoothed = float(legend["reward"])
    assert smoothed < 0.1 * step  # smoothing of a rising line lags it
    reward.screenshot(path=str(shots / "studio-charts.png"))  # the legend at the cursor
    # smoothing off: one line, the raw values, and a different drawing
    before = _canvas(page, "reward")
    _smoothing(page, 0)
    expect(page.locator("#chart-smoothing-value")).to_have_text("0.00")
    page.mouse.move(box["x"] + 5, box["y"] + 5)  # away and back: the legend redraws
    legend = _hover(page, "reward", box["x"] + box["width"] * 0.43,
                    box["y"] + box["height"] / 2, raw=False)
    assert "reward (raw)" not in legend and float(legend["reward"]) == pytest.approx(0.1 * step)
    assert _canvas(page, "reward") != before
    _smoothing(page, 0.6)
    # drag to zoom in on the steps, double-click to zoom out
    ticks = reward.get_attribute("data-x-ticks")
    assert ticks == "2 4 6 8"
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 20, steps=5)
    page.mouse.up()
    expect(reward).not_to_have_attribute("data-x-ticks", ticks)
    assert all(t.isdigit() for t in (reward.get_attribute("data-x-ticks") or "x").split())
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(reward).to_have_attribute("data-x-ticks", ticks)
    # the y axis: lengths from zero, a correlation on its whole -1..1 scale
    assert _y_ticks(page, "completions/mean_length")[0] == "0"
    corr = _y_ticks(page, "watch/reward_length_corr")
    assert (corr[0], corr[-1]) == ("-1", "1")
    # the log scale
    loss = page.locator('figure[data-series="loss"]')
    linear = loss.get_attribute("data-y-ticks")
    page.check("#chart-log")
    expect(loss).to_have_attribute("data-scale", "log")
    expect(loss).not_to_have_attribute("data-y-ticks", linear or "")
    page.uncheck("#chart-log")
    expect(loss).to_have_attribute("data-scale", "linear")
    # the alert's step is marked on every chart
    assert reward.get_attribute("data-alerts") == "5"


def test_two_step_run_flat_reward_and_clipped_ratio(page: Page, base_url: str, two_steps: int,
                                                    console: list[str]) -> None:
    page.goto(f"{base_url}/runs/{two_steps}")
    loss = page.locator('figure[data-series="loss"]')
    expect(loss).to_have_attribute("data-drawn", "true")
    expect(loss).to_have_attribute("data-x-ticks", "1 2")  # steps, not 1, 1.2, ... 2
    # a loss moving 0.010 → 0.012 is drawn on an axis wide enough that it reads as small
    ticks = [float(t) for t in _y_ticks(page, "loss")]
    assert max(ticks) - min(ticks) >= 0.006  # half the value at least: 20% reads as 20%
    flat = page.locator("#charts-flat-reward")
    expect(flat).to_be_visible()
    expect(flat).to_contain_text("reward = 1, rewards/judge/mean = 1 at every step")
    expect(flat).to_contain_text("gives GRPO nothing to learn from")
    clipped = page.locator('#charts-signals figure[data-series="completions/clipped_ratio"]')
    expect(clipped).to_have_attribute("data-drawn", "true")
    expect(clipped).to_contain_text("length cap")
    ticks = _y_ticks(page, "completions/clipped_ratio")
    assert (ticks[0], ticks[-1]) == ("0", "1")  # a share, on its whole 0..1 scale
    page.check("#chart-log")  # kl starts at 0: stays linear, and says why
    kl = page.locator('figure[data-series="kl"]')
    expect(kl).to_have_attribute("data-scale", "linear")
    expect(kl.locator(".chart-log-note")).to_contain_text("needs values above 0")
    expect(loss).to_have_attribute("data-scale", "log")
    # while a run is live its page swaps in the charts fragment (studio.js): they are drawn again
    page.evaluate("""async (url) => {
        const html = await (await fetch(url)).text();
        const fragment = new DOMParser().parseFromString(html, "text/html");
        document.getElementById("charts-wrap").replaceChildren(...fragment.body.childNodes);
    }""", f"/runs/{two_steps}/charts")
    expect(page.locator('figure[data-series="loss"][data-drawn="true"] canvas')).to_have_count(1)
    expect(page.locator("#chart-log")).to_be_checked()  # the choice outlives the swap
    expect(page.locator('figure[data-series="loss"]')).to_have_attribute("data-scale", "log")


def test_runs_list_checkboxes_lead_to_the_overlay(page: Page, base_url: str, built: StudioStore,
                                                  two_steps: int, console: list[str]) -> None:
    page.goto(f"{base_url}/")
    grpo = page.locator(f'#runs tr[data-run="{built.runs["grpo"]}"]')
    expect(grpo.locator('[data-figure="last reward"]')).to_contain_text("0.8")
    expect(grpo.locator('[data-figure="length"]')).to_contain_text("88 characters")
    expect(page.locator(f'#runs tr[data-run="{built.runs["eval_policy"]}"]')).to_contain_text(
        "eval policy: sft, grpo")
    page.check(f'#runs input[name="runs"][value="{built.runs["grpo"]}"]')
    page.check(f'#runs input[name="runs"][value="{two_steps}"]')
    page.click("#overlay-picked")
    page.wait_for_url("**/compare?runs=*")
    assert f"runs={two_steps}" in page.url and f"runs={built.runs['grpo']}" in page.url
    reward = page.locator('#overlay figure[data-series="reward"]')
    expect(reward).to_have_attribute("data-drawn", "true")
    # the reward comes first, though one run's never moved (flat rewards are compared too)
    expect(page.locator("#overlay figure").first).to_have_attribute("data-series", "reward")
    expect(reward.locator(".u-legend")).to_contain_text(f"run {built.runs['grpo']}")
    expect(reward.locator(".u-legend")).to_contain_text(f"run {two_steps} · judge arm")
    expect(page.locator(f"#pick-{two_steps}")).to_be_checked()  # the picks stay ticked
