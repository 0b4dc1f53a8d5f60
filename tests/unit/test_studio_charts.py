"""The studio's SVG line charts (ticks, labels, escaping, overlays, bands) and the curve plan."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

import pytest

from kindling.studio.charts import PALETTE, compact, line_chart, nice_ticks
from kindling.studio.curve_plan import length_band, plan_charts, unit_of

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    """The chart parsed as XML (fails on anything not well-formed)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg" and root.get("class") == "chart"
    return root


def _all(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    """Elements of a tag (and class, when given) anywhere in the chart."""
    return [e for e in root.iter(f"{NS}{tag}")
            if cls is None or cls in (e.get("class") or "").split()]


def _texts(root: ET.Element, cls: str) -> list[str]:
    """The text of every `<text>` carrying a class."""
    return ["".join(e.itertext()) for e in _all(root, "text", cls)]


def _box(root: ET.Element) -> tuple[float, float, float, float]:
    """The viewBox as (x, y, width, height)."""
    x, y, w, h = (float(v) for v in root.get("viewBox", "").split())
    return x, y, w, h


def _ramp(n: int, lo: float = 0.0, hi: float = 1.0) -> list[tuple[float, float]]:
    """n points rising evenly from lo to hi over steps 1..n."""
    return [(float(i + 1), lo + (hi - lo) * i / (n - 1)) for i in range(n)]


@pytest.mark.parametrize(("lo", "hi"), [(0, 0.37), (0, 1), (-3, 17), (0.05, 0.95), (1, 9999),
                                        (1e-7, 5e-7), (100.0, 100.3), (-0.002, 0.0)])
def test_nice_ticks_are_round_steps_inside_the_range(lo: float, hi: float) -> None:
    ticks = nice_ticks(lo, hi)
    assert 3 <= len(ticks) <= 7 and ticks == sorted(ticks)
    assert all(lo - 1e-12 <= t <= hi + 1e-12 for t in ticks)
    steps = {round(b - a, 12) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 5))


def test_nice_ticks_for_zero_to_point_37() -> None:
    assert nice_ticks(0, 0.37) == [0, 0.1, 0.2, 0.3]
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(5, 5) == [5]


@pytest.mark.parametrize(("value", "label"), [
    (0, "0"), (0.001, "0.001"), (0.37, "0.37"), (0.30000000000000004, "0.3"), (1e-07, "1e-07"),
    (2500, "2.5k"), (1000, "1k"), (-2500, "-2.5k"), (1_200_000, "1.2M"), (3e9, "3G"), (42, "42"),
    (123.456, "123.5"),
])
def test_compact_labels(value: float, label: str) -> None:
    assert compact(value) == label


def test_single_series_has_unit_last_value_ticks_and_captions() -> None:
    points = _ramp(12, 120, 480)
    root = _parse(line_chart("completions/mean_length", {"completions/mean_length": points},
                             unit="tokens"))
    assert root.get("data-series") == "completions/mean_length" and root.get("role") == "img"
    title = _texts(root, "chart-title")[0]
    assert title == "completions/mean_length (tokens) (last 480)"
    assert root.find(f"{NS}title") is not None
    captions = _texts(root, "chart-caption")
    assert "tokens" in captions and "step" in captions
    axis = _texts(root, "chart-axis")
    assert {"200", "300", "400"} <= set(axis)
    assert len(_all(root, "line", "chart-grid")) >= 8
    assert len(_all(root, "polyline", "chart-line")) == 1 and not _all(root, "g", "chart-legend")
    assert _all(root, "rect", "chart-frame")


def test_left_margin_fits_the_longest_tick_label() -> None:
    root = _parse(line_chart("lr", {"lr": _ramp(5, 1.000001, 1.000009)}, unit="lr"))
    frame = _all(root, "rect", "chart-frame")[0]
    labels = [t for t in _all(root, "text", "chart-axis") if t.get("text-anchor") == "end"]
    longest = max(len("".join(t.itertext())) for t in labels)
    assert len({"".join(t.itertext()) for t in labels}) == len(labels)  # distinct labels
    assert float(frame.get("x", 0)) >= longest * 6 + 4
    _, _, width, _ = _box(root)
    assert float(frame.get("x", 0)) + float(frame.get("width", 0)) <= width


def test_title_and_labels_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    svg = line_chart(evil, {evil: _ramp(3), 'a"b': _ramp(3, 1, 2)}, unit=evil, x_label=evil)
    assert "<script" not in svg
    root = _parse(svg)
    assert root.get("data-series") == evil
    assert {p.get("data-label") for p in _all(root, "polyline", "chart-line")} == {evil, 'a"b'}


def test_overlay_draws_a_line_per_series_and_a_legend() -> None:
    series = {"run 3 · grpo-rm": _ramp(10, 0, 1), "run 4 · grpo-judge": _ramp(10, 0.5, 0.25)}
    root = _parse(line_chart("reward", series))
    lines = _all(root, "polyline", "chart-line")
    assert [p.get("data-label") for p in lines] == list(series)
    assert [p.get("stroke") for p in lines] == list(PALETTE[:2])
    legend = _all(root, "g", "chart-legend")
    assert len(legend) == 1
    text = " ".join(legend[0].itertext())
    assert "run 3 · grpo-rm (last 1)" in text and "run 4 · grpo-judge (last 0.25)" in text
    assert "(last" not in _texts(root, "chart-title")[0]


def test_band_is_shaded_inside_the_viewbox_and_widens_the_range() -> None:
    root = _parse(line_chart("chars", {"chars": _ramp(6, 400, 500)}, unit="characters",
                             band=(900.0, 600.0)))
    band = _all(root, "rect", "chart-band")
    assert len(band) == 1
    x0, y0, width, height = _box(root)
    y, h = float(band[0].get("y", -1)), float(band[0].get("height", -1))
    assert h > 0 and y0 <= y and y + h <= y0 + height
    frame = _all(root, "rect", "chart-frame")[0]
    top, bottom = float(frame.get("y", 0)), float(frame.get("y", 0)) + float(frame.get("height", 0))
    assert top <= y and y + h <= bottom
    assert "900" in _texts(root, "chart-axis")  # the y range reaches the band's upper edge
    assert x0 == 0 and width >= 400


def test_constant_series_is_padded_to_mid_chart() -> None:
    for value in (0.0, 7.5):
        root = _parse(line_chart("flat", {"flat": [(1.0, value), (2.0, value), (3.0, value)]}))
        frame = _all(root, "rect", "chart-frame")[0]
        mid = float(frame.get("y", 0)) + float(frame.get("height", 0)) / 2
        coords = _all(root, "polyline", "chart-line")[0].get("points", "").split()
        assert all(abs(float(c.split(",")[1]) - mid) < 1.0 for c in coords)


def test_single_point_is_a_circle_and_nan_points_are_dropped() -> None:
    root = _parse(line_chart("once", {"once": [(4.0, 0.5), (5.0, math.nan)]}))
    assert len(_all(root, "circle", "chart-point")) == 1
    assert not _all(root, "polyline")
    empty = _parse(line_chart("none", {"none": []}))
    assert "(no data)" in _texts(empty, "chart-title")[0]


def _grpo_log(n: int = 10) -> dict[str, list[tuple[float, float]]]:
    """A GRPO-like set of curves: ~20 series, some flat, some exact copies."""
    steps = [float(s) for s in range(1, n + 1)]

    def rising(lo: float, hi: float) -> list[tuple[float, float]]:
        return [(s, lo + (hi - lo) * (s - 1) / (n - 1)) for s in steps]

    def flat(value: float) -> list[tuple[float, float]]:
        return [(s, value) for s in steps]

    min_length = rising(40, 90)
    return {
        "loss": rising(0.02, -0.01), "grad_norm": rising(3, 1), "learning_rate": rising(1e-6, 0),
        "num_tokens": rising(1e4, 1e5), "completions/mean_length": rising(120, 260),
        "completions/min_length": min_length, "completions/max_length": list(min_length),
        "completions/clipped_ratio": flat(0.0), "completions/mean_terminated_length":
        rising(110, 250), "rewards/rm/mean": rising(0.1, 0.8), "rewards/rm/std": rising(0.3, 0.1),
        "reward": rising(0.05, 0.7), "reward_std": rising(0.35, 0.12), "frac_reward_zero_std":
        rising(0, 0.4), "kl": rising(0, 0.03), "entropy": rising(1.2, 0.9),
        "clip_ratio/region_mean": flat(0.0), "clip_ratio/low_mean": flat(0.0),
        "watch/reward_length_corr": rising(0.1, 0.6), "watch/self_bleu": rising(30, 80),
        "watch/length_drift": rising(0, 1.2), "watch/guard_flagged": flat(0.0),
        "watch/length_chars": rising(50, 110), "step_time": rising(3.0, 3.2),
    }


def test_plan_charts_on_a_grpo_log() -> None:
    curves = _grpo_log()
    plan = plan_charts(curves)
    assert plan.primary == ["reward", "rewards/rm/mean", "watch/length_chars",
                            "completions/mean_length", "kl", "loss"]
    # the hacking signals get a section of their own, in a fixed order
    assert plan.signals == ["watch/length_drift", "watch/reward_length_corr", "watch/self_bleu"]
    assert plan.constant == {"completions/clipped_ratio": 0.0, "clip_ratio/region_mean": 0.0,
                             "clip_ratio/low_mean": 0.0, "watch/guard_flagged": 0.0}
    assert plan.duplicates == {"completions/max_length": "completions/min_length"}
    assert plan.folded == sorted(["grad_norm", "learning_rate", "num_tokens",
                                  "completions/min_length", "completions/mean_terminated_length",
                                  "rewards/rm/std", "reward_std", "frac_reward_zero_std",
                                  "entropy", "step_time"])
    parts = (plan.primary + plan.signals + plan.folded + list(plan.constant)
             + list(plan.duplicates))
    assert sorted(parts) == sorted(curves)


def test_plan_charts_attributes_copies_to_the_primary_series_and_caps_primary() -> None:
    curves = _grpo_log()
    curves["rewards/rm/mean"] = list(curves["reward"])  # one reward function: mean == reward
    for i in range(8):
        curves[f"rewards/r{i}/mean"] = [(s, y + i + 1) for s, y in curves["kl"]]
    plan = plan_charts(curves)
    assert plan.duplicates["rewards/rm/mean"] == "reward"
    assert len(plan.primary) == 8 and plan.primary[0] == "reward"
    assert "rewards/r7/mean" in plan.folded and "kl" in plan.folded


def test_plan_charts_for_reward_model_training() -> None:
    plan = plan_charts({"loss": _ramp(5, 0.7, 0.3), "accuracy": _ramp(5, 0.5, 0.8),
                        "margin": _ramp(5, 0, 2), "epoch_time": _ramp(5, 1, 2)})
    assert plan.primary == ["loss", "accuracy", "margin"] and plan.folded == ["epoch_time"]


@pytest.mark.parametrize(("name", "unit"), [
    ("completions/mean_length", "tokens"), ("completions/min_length", "tokens"),
    ("completions/max_length", "tokens"), ("completions/mean_terminated_length", "tokens"),
    ("completion_length", "tokens"), ("signals/mean_chars", "characters"),
    ("completions/mean_characters", "characters"), ("learning_rate", "lr"), ("grad_norm", "norm"),
    ("clip_ratio/region_mean", "fraction"), ("frac_reward_zero_std", "fraction"),
    ("completions/clipped_ratio", "fraction"), ("entropy", "nats"), ("kl", "nats"),
    ("reward", ""), ("loss", ""), ("something_else", ""),
    ("watch/length_chars", "characters"), ("watch/self_bleu", "BLEU 0–100"),
    ("watch/reward_length_corr", "r"), ("watch/repetition", "fraction"),
])
def test_unit_of(name: str, unit: str) -> None:
    assert unit_of(name) == unit


def test_length_band() -> None:
    assert length_band({"length_band": [600, 900]}) == (600.0, 900.0)
    assert length_band({"length_band": (900.5, 600)}) == (600.0, 900.5)
    for bad in ({}, {"length_band": [1, 2, 3]}, {"length_band": ["a", 2]},
                {"length_band": 5}, {"length_band": [True, 2]}, {"length_band": [math.nan, 1]}):
        assert length_band(bad) is None
    assert length_band(None) is None


def test_character_length_comes_first_among_lengths_with_its_unit() -> None:
    from kindling.studio.curve_plan import plan_charts, unit_of

    rising = [(1.0, 40.0), (2.0, 55.0), (3.0, 70.0)]
    plan = plan_charts({"completions/mean_length": [(1.0, 10.0), (2.0, 12.0), (3.0, 11.0)],
                        "length_control/mean_length": rising,
                        "length_control/out_of_band": [(1.0, 0.5), (2.0, 0.25), (3.0, 0.0)]})
    assert plan.primary[:2] == ["length_control/mean_length", "completions/mean_length"]
    assert unit_of("length_control/mean_length") == "characters"
    assert unit_of("length_control/out_of_band") == "fraction"
