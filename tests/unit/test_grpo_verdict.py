"""A GRPO run's verdict (kindling/services/grpo_verdict.py, in words by grpo_verdict_text.py)
from stored metrics: the length ×N, the texts' sameness, the share cut at the token cap and
since when, a reward that never moved, and the alerts, each pointing at its step."""

from __future__ import annotations

from kindling.services.grpo_verdict import cap_share, grpo_verdict
from kindling.services.grpo_verdict_text import headline, verdict_lines

CONFIG = {"trl": {"max_completion_length": 64}, "task_used": {"length_unit": "chars"}}
ALERT = {"step": 8, "metric": "length_drift", "value": 0.65, "action": "warn",
         "rule": "length_drift > 0.3 for 5 steps"}


def hacked(n: int = 60) -> dict:
    """An RM-only run: longer and alike every step, every completion cut at the cap from 27."""
    steps = [{"step": i, "reward": 2.0 + i / 30, "frac_reward_zero_std": 0.0,
              "watch/length_chars": 54.0 + (173.0 * (i - 1) / (n - 1)),
              "watch/distinct_2": 0.83 - 0.49 * (i - 1) / (n - 1),
              "watch/self_bleu": 11.0 + 51 * (i - 1) / (n - 1),
              "watch/reward_length_corr": 0.6,
              "completions/clipped_ratio": 1.0 if i >= 27 else i / 40,
              "rewards/rm/mean": 2.0 + i / 30} for i in range(1, n + 1)]
    return {"steps": [*steps, {"step": n, "train_runtime": 100.0}], "watch_alerts": [ALERT]}


def judge_arm() -> dict:
    """The offline judge's arm: the same reward for every completion at every step."""
    return {"steps": [{"step": i, "reward": 0.0, "frac_reward_zero_std": 1.0,
                       "watch/length_chars": 40.0 + i, "completions/clipped_ratio": 0.0}
                      for i in (1, 2, 3)]}


def test_a_hacked_run_says_longer_alike_cut_at_the_cap_and_the_alert() -> None:
    v = grpo_verdict(hacked(), CONFIG)
    assert v.steps == 60 and round(v.length_ratio or 0, 1) == 4.2
    lines = {line.topic: line for line in verdict_lines(v)}
    assert lines["length"].text.startswith("Length ×4.2: completions went from 54 to 227 "
                                           "characters (step 1 → step 60)")
    assert ("all completions hit the 64-token cap from step 27 on: the cap, not the model, "
            "stops them") in lines["length"].text
    assert "r = +0.60: the reward pays for length" in lines["length"].text
    assert lines["length"].steps == (1, 27, 60) and "cap" not in lines  # said once, with the length
    assert lines["sameness"].text == "The texts grew alike: distinct-2 0.83 → 0.34, self-BLEU 11 → 62."
    assert lines["alert"].text == ("The watch rule 'length_drift > 0.3 for 5 steps' warned at "
                                   "step 8 (now +65%).") and lines["alert"].steps == (8,)
    assert lines["reward"].text == "Reward 2.03 → 4.00 (step 1 → step 60)." and not lines["reward"].bad
    assert [x.topic for x in verdict_lines(v)] == ["alert", "length", "sameness", "reward"]
    assert headline(v) == ("Length ×4.2; cut at the token cap; texts alike; 1 watch alert over 60 "
                           "logged steps.")


def test_a_constant_reward_is_said_plainly() -> None:
    v = grpo_verdict(judge_arm(), CONFIG)
    first = verdict_lines(v)[0]
    assert first.text == "The reward was 0.00 at every step: the policy got no signal."
    assert first.bad and headline(v).startswith("No learning signal")
    assert not any(line.topic == "cap" for line in verdict_lines(v))  # never cut: not said


def test_a_reward_that_moves_but_never_tells_a_prompts_completions_apart() -> None:
    metrics = judge_arm()
    for i, entry in enumerate(metrics["steps"]):
        entry["reward"] = 0.25 * i
    text = verdict_lines(grpo_verdict(metrics, CONFIG))[0].text
    assert text.startswith("Every prompt's completions got the same reward at every step")


def test_a_reward_function_stuck_at_one_value_beside_others_is_named() -> None:
    metrics = hacked(4)
    for entry in metrics["steps"][:-1]:
        entry["rewards/guard/mean"] = 0.0
    texts = [line.text for line in verdict_lines(grpo_verdict(metrics, CONFIG))]
    assert "The guard reward was 0.00 at every step: it told no completions apart." in texts


def test_the_cap_without_a_length_series_has_a_line_of_its_own() -> None:
    metrics = {"steps": [{"step": i, "reward": 0.1 * i, "completions/clipped_ratio": r}
                         for i, r in ((1, 0.25), (2, 1.0), (3, 1.0))]}
    [cap] = [x for x in verdict_lines(grpo_verdict(metrics, CONFIG)) if x.topic == "cap"]
    assert cap.text == ("Cut at the cap: all completions hit the 64-token cap from step 2 on "
                        "(100% at the last step); the length cannot grow past it.")
    assert cap.steps == (2,) and cap.bad
    metrics["steps"][-1]["completions/clipped_ratio"] = 0.25
    [low] = [x for x in verdict_lines(grpo_verdict(metrics, CONFIG)) if x.topic == "cap"]
    assert low.text == ("25% of the last step's completions hit the 64-token cap (at most 100% "
                        "at any step).") and not low.bad


def test_the_cap_share_is_the_trailing_stretch_at_the_last_steps_level() -> None:
    cap = cap_share([(1, 0.9), (2, 0.2), (3, 0.6), (4, 0.95), (5, 0.8)], 64)
    assert cap is not None and (cap.since, cap.least, cap.last, cap.peak) == (4, 0.8, 0.8, 0.95)
    full = cap_share([(1, 0.6), (2, 1.0), (3, 0.9), (4, 1.0), (5, 1.0)], 64)
    assert full is not None and (full.since, full.least) == (4, 1.0)  # all of them since 4
    nearly = cap_share([(1, 0.6), (2, 1.0), (3, 0.9), (4, 0.95)], 64)
    assert nearly is not None and (nearly.since, nearly.least) == (2, 0.9)
    low = cap_share([(1, 0.9), (2, 0.1)], 64)
    assert low is not None and not low.bounds_length
    assert cap_share([], 64) is None


def test_a_run_with_a_held_length_and_no_watch_signals() -> None:
    steps = [{"step": i, "reward": 0.1 * i, "completions/mean_length": 20.0 + 0.1 * i}
             for i in (1, 2)]
    v = grpo_verdict({"steps": steps}, {})
    lines = {line.topic: line for line in verdict_lines(v)}
    assert lines["length"].text.startswith("Length ×1.0: completions went from 20 to 20 tokens")
    assert not any(line.bad for line in lines.values())
    assert headline(v) == "Nothing alarming in the logged signals over 2 logged steps."
    assert verdict_lines(grpo_verdict({"steps": []}, {})) == []
    odd = grpo_verdict({"steps": 5, "watch_alerts": "x"}, {"task_used": "zh", "trl": [1]})
    assert odd.steps == 0 and headline(odd) == "No training step logged yet."


def test_runs_show_prints_a_grpo_runs_verdict_first(sqlite_url: str) -> None:
    from kindling.store.db import Store
    from kindling.store.work import finish_run, get_or_create_run
    from typer.testing import CliRunner

    from kindling.cli import app

    store = Store(sqlite_url)
    run, _ = get_or_create_run(store, kind="grpo", run_key=None, config=CONFIG, code_version="t")
    finish_run(store, run.id, "finished", judge_arm())
    store.close()
    result = CliRunner().invoke(app, ["--db-url", sqlite_url, "runs", "show", str(run.id)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert out.startswith("What happened: No learning signal over 3 logged steps. • The reward "
                          "was 0.00 at every step: the policy got no signal.")
