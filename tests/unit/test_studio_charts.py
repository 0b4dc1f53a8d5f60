"""The studio's chart records (what static/charts.js draws with uPlot) and the curve plan:
which series, units, meanings, y ranges, constants and copies."""

from __future__ import annotations

import json
import math

import pytest

from kindling.studio.charts import PALETTE, compact, line_chart, overlay_series
from kindling.studio.curve_plan import (
    MIN_SPAN_SHARE,
    SIGNALS,
    length_band,
    meaning,
    plan_charts,
    unit_of,
    y_policy,
)
from kindling.studio.deps import templates


def _ramp(n: int, lo: float = 0.0, hi: float = 1.0) -> list[tuple[float, float]]:
    """n points rising evenly from lo to hi over steps 1..n."""
    return [(float(i + 1), lo + (hi - lo) * i / (n - 1)) for i in range(n)]


@pytest.mark.parametrize(("value", "label"), [
    (0, "0"), (0.001, "0.001"), (0.37, "0.37"), (0.30000000000000004, "0.3"), (1e-07, "1e-07"),
    (2500, "2.5k"), (1000, "1k"), (-2500, "-2.5k"), (1_200_000, "1.2M"), (3e9, "3G"), (42, "42"),
    (123.456, "123.5"),
])
def test_compact_labels(value: float, label: str) -> None:
    assert compact(value) == label


def test_one_series_record_has_whole_steps_unit_meaning_and_figures() -> None:
    chart = line_chart("run-0", "completions/mean_length", {"completions/mean_length":
                                                            _ramp(12, 120, 480)})
    assert chart["id"] == "run-0" and chart["name"] == "completions/mean_length"
    assert chart["unit"] == "tokens" and chart["note"] == "mean completion length in tokens"
    assert chart["x"] == list(range(1, 13)) and all(type(x) is int for x in chart["x"])
    (line,) = chart["series"]
    assert line["label"] == "completions/mean_length" and line["colour"] == PALETTE[0]
    assert line["values"][0] == 120 and line["values"][-1] == 480 and line["last"] == "480"
    assert chart["summary"] == "120 → 480 (min 120, max 480) over 12 steps"
    assert chart["y"] == {"lo": None, "hi": None, "zero": True, "min_share": MIN_SPAN_SHARE}
    assert chart["log_ok"] is True and chart["band"] is None and chart["alerts"] == []
    json.dumps(chart, allow_nan=False)  # what reaches the page is plain JSON


def test_non_finite_points_are_left_out_and_zero_rules_out_a_log_scale() -> None:
    chart = line_chart("c", "kl", {"kl": [(1.0, 0.0), (2.0, math.nan), (3.0, math.inf),
                                          (4.0, 0.02)]})
    assert chart["x"] == [1, 4] and chart["series"][0]["values"] == [0.0, 0.02]
    assert chart["log_ok"] is False
    json.dumps(chart, allow_nan=False)
    empty = line_chart("e", "loss", {"loss": [(1.0, math.nan)]})
    assert empty["series"] == [] and empty["x"] == [] and empty["summary"] == "no data"
    assert empty["log_ok"] is False


def test_overlay_aligns_runs_on_their_steps_and_keeps_each_run_its_colour() -> None:
    series = {"run 3 · grpo-rm": [(1.0, 0.1), (2.0, 0.2), (4.0, 0.4)],
              "run 4": [],  # does not log this series: drawn nowhere, keeps its colour slot
              "run 5 · grpo-judge": [(2.0, 1.0), (3.0, 1.5)]}
    chart = line_chart("overlay-0", "reward", series)
    assert chart["x"] == [1, 2, 3, 4]
    lines = {line["label"]: line for line in chart["series"]}
    assert list(lines) == ["run 3 · grpo-rm", "run 5 · grpo-judge"]
    assert lines["run 3 · grpo-rm"]["values"] == [0.1, 0.2, None, 0.4]
    assert lines["run 5 · grpo-judge"]["values"] == [None, 1.0, 1.5, None]
    assert lines["run 3 · grpo-rm"]["colour"] == PALETTE[0]
    assert lines["run 5 · grpo-judge"]["colour"] == PALETTE[2]
    assert chart["summary"] == "last: run 3 · grpo-rm 0.4, run 5 · grpo-judge 1.5"


def test_an_overlay_says_a_series_with_one_value_everywhere_instead_of_drawing_it() -> None:
    flat = [(float(i), 0.0) for i in range(1, 9)]
    per_run = {"run 1": {"reward": _ramp(8), "watch/guard_flagged": flat},
               "run 2": {"reward": _ramp(8, 0.5, 2.0), "watch/guard_flagged": flat}}
    shared, same = overlay_series(per_run)
    assert {"reward", "watch/guard_flagged"} <= set(shared)
    assert same == {"watch/guard_flagged": 0.0}
    per_run["run 2"]["watch/guard_flagged"] = [(1.0, 0.0), (2.0, 0.5)]  # it moves in one run
    assert overlay_series(per_run)[1] == {}


def test_alert_steps_and_the_band_travel_with_the_chart() -> None:
    alerts = [{"step": 5, "action": "warn", "rule": "length_drift > 0.3", "value": 0.6},
              {"step": "x", "action": "stop"}, {"step": True, "action": "stop"}]
    chart = line_chart("c", "watch/length_chars", {"watch/length_chars": _ramp(6, 40, 90)},
                       band=(30.0, 120.0), alerts=alerts)
    assert chart["alerts"] == [{"step": 5, "action": "warn"}]  # the rule's text stays server-side
    assert chart["band"] == [30.0, 120.0]
    assert chart["y"]["lo"] == 30.0 and chart["y"]["hi"] == 120.0 and chart["y"]["zero"]
    caption = templates.env.from_string('{% from "_chart.html" import figure %}{{ figure(c) }}'
                                        ).render(c=chart)
    assert "shaded: the length band 30–120" in caption and 'data-chart="c"' in caption


def test_labels_reach_the_page_as_inert_json() -> None:
    evil = "</script><script>alert(1)</script>"
    chart = line_chart("c", evil, {evil: _ramp(3)})
    html = templates.env.from_string(
        '<script type="application/json">{{ charts|tojson }}</script>').render(charts=[chart])
    assert html.count("</script>") == 1 and "<script>alert" not in html
    body = html.removeprefix('<script type="application/json">').removesuffix("</script>")
    assert json.loads(body)[0]["series"][0]["label"] == evil


@pytest.mark.parametrize(("name", "values", "lo", "hi", "zero"), [
    ("watch/reward_length_corr", [0.2, 0.3], -1.0, 1.0, False),
    ("watch/self_bleu", [30.0, 80.0], 0.0, 100.0, False),
    ("completions/clipped_ratio", [0.0, 1.0], 0.0, 1.0, True),
    ("watch/distinct_2", [0.7, 0.3], 0.0, 1.0, True),
    ("watch/length_drift", [-0.1, 1.2], None, None, True),  # a fraction past 1: zero, no cap
    ("watch/length_drift", [0.0, 0.02], None, None, True),  # a drift, not a share: no 0..1
    ("completions/mean_length", [40.0, 48.0], None, None, True),
    ("watch/length_chars", [40.0, 48.0], None, None, True),
    ("reward", [0.45, 0.47], None, None, False),
    ("loss", [2.0, 0.25], None, None, False),
])
def test_y_policy_by_unit(name: str, values: list[float], lo: float | None, hi: float | None,
                          zero: bool) -> None:
    policy = y_policy(name, [(float(i), v) for i, v in enumerate(values, 1)])
    assert (policy["lo"], policy["hi"], policy["zero"]) == (lo, hi, zero)
    assert policy["min_share"] == MIN_SPAN_SHARE


def test_meanings() -> None:
    assert "length cap" in meaning("completions/clipped_ratio")
    assert meaning("rewards/judge/mean") == "the mean score of the reward function judge"
    assert "GRPO" in meaning("reward") and meaning("step_time") == ""


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
        "completions/clipped_ratio": rising(0.0, 1.0), "completions/mean_terminated_length":
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
    # the hacking signals get a section of their own, in a fixed order; the share of
    # completions cut at the length cap is one of them, never folded away
    assert plan.signals == ["watch/length_drift", "completions/clipped_ratio",
                            "watch/reward_length_corr", "watch/self_bleu"]
    assert plan.constant == {"clip_ratio/region_mean": 0.0, "clip_ratio/low_mean": 0.0,
                             "watch/guard_flagged": 0.0}
    assert plan.flat_signals == {"watch/guard_flagged": 0.0} and plan.flat_rewards == {}
    assert plan.flat_others == {"clip_ratio/region_mean": 0.0, "clip_ratio/low_mean": 0.0}
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


def test_a_reward_that_never_moves_is_said_apart_from_other_constants() -> None:
    curves = _grpo_log()
    curves["reward"] = [(s, 1.0) for s, _ in curves["reward"]]  # a judge that passes everything
    curves["rewards/judge/mean"] = list(curves["reward"])
    curves["completions/clipped_ratio"] = [(s, 1.0) for s, _ in curves["reward"]]
    plan = plan_charts(curves)
    assert plan.flat_rewards == {"reward": 1.0, "rewards/judge/mean": 1.0}
    assert plan.flat_signals == {"completions/clipped_ratio": 1.0, "watch/guard_flagged": 0.0}
    assert "reward" not in plan.flat_others and "reward" not in plan.primary
    assert set(plan.flat_rewards) | set(plan.flat_signals) | set(plan.flat_others) == set(
        plan.constant)


def test_every_signal_has_a_meaning() -> None:
    assert all(meaning(name) for name in SIGNALS)


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
