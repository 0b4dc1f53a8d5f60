"""The quickstart's closing report: which finding fits which figures, and what it prints."""

from __future__ import annotations

import pytest

from kindling import quickstart_findings as qf
from kindling import quickstart_report as qr
from kindling.services.grpo_verdict import grpo_verdict


def policy(length: float, rm_rate: float, rm_mean: float, d2: float = 0.3, bleu: float = 50.0,
           rep: float = 0.02) -> dict:
    return {"samples": 128, "mean_length": length, "distinct_2": d2, "self_bleu": bleu,
            "repetition": rep, "rm": {"mean": rm_mean, "excellence": {"rate": rm_rate}}}


REPORT = {"base": policy(149.0, 0.98, 7.0, d2=0.22, bleu=65.0, rep=0.11),
          "sft": policy(46.0, 0.82, 4.6),
          "grpo-rm": policy(234.0, 1.0, 8.7, d2=0.06, bleu=91.0, rep=0.28),
          "grpo-rm+length": policy(48.0, 0.94, 6.0, d2=0.29, bleu=52.0)}
RM = {"pairwise": {"overall": {"rm": 0.987, "length": 0.953}},
      "agreement": {"overall": {"accuracy": 0.947}, "baseline": {"accuracy": 0.896}}}


def test_the_findings_say_what_the_figures_show() -> None:
    signals = {"grpo-rm": {"steps": 60, "first_chars": 54.0, "last_chars": 174.0, "corr": 0.32,
                           "alerts": [{"rule": "length_drift > 0.3 for 5 steps", "step": 8}]},
               "grpo-rm+length": {"steps": 60, "first_chars": 54.0, "last_chars": 58.0,
                                  "corr": 0.13, "alerts": [], "band": [48.6, 59.4]}}
    lines = qf.findings(RM, REPORT, signals)
    text = "\n".join(lines)
    assert "98.7% of the time; always picking the longer text gets 95.3%" in text
    assert "mostly learns length" in text
    assert "random text (base, 149 characters of gibberish on average) excellent 98%" in text
    assert "grpo-rm writes +409% longer than SFT (234 vs 46 characters)" in text
    assert "4.60 → 8.70: GRPO found that the RM pays for length (reward hacking)" in text
    assert "grpo-rm repeats itself within a text: repetition 0.02 → 0.28" in text
    assert "grpo-rm's texts are more alike than SFT's: distinct-2 0.30 → 0.06, self-BLEU 50 → 91" \
        in text
    assert "the watch rule 'length_drift > 0.3 for 5 steps' fired at step 8" in text
    assert "grpo-rm+length kept SFT's length (+4%, 48 vs 46 characters)" in text
    assert "(length_control's band: 49–59)" in text
    assert not any(line.startswith("grpo-rm+length repeats") for line in lines)


def _steps(n: int, **series) -> dict:
    """A GRPO run's logged steps: each series a function of the step."""
    return {"steps": [{"step": i, **{k.replace("__", "/"): f(i) for k, f in series.items()}}
                      for i in range(1, n + 1)]}


CAP = {"trl": {"max_completion_length": 64}}


def test_a_length_the_token_cap_bounds_is_said_with_the_growth() -> None:
    hacked = grpo_verdict(_steps(60, reward=lambda i: i / 10, watch__length_chars=lambda i: 54 + i,
                                 completions__clipped_ratio=lambda i: 1.0 if i >= 27 else 0.2),
                          CAP)
    text = "\n".join(qf.findings(RM, REPORT, {}, verdicts={"grpo-rm": hacked}))
    assert ("grpo-rm writes +409% longer than SFT (234 vs 46 characters), and all completions "
            "hit the 64-token cap from step 27 on while it trained: the cap, not the model, stops "
            "it; its RM score went 4.60 → 8.70: GRPO found that the RM pays for length (reward "
            "hacking).") in text
    signals = {"steps": 60, "first_chars": 55.0, "last_chars": 114.0, "corr": None}
    held = qf.signal_findings("grpo-rm+length", signals, hacked)  # a length that held: said here
    assert held[0].endswith("; all completions hit the 64-token cap from step 27 on: the cap, "
                            "not the model, stops the length.")
    assert "64-token" not in "\n".join(qf.findings(RM, REPORT, {}))  # no verdict, no cap said


def test_a_constant_reward_is_said_plainly() -> None:
    flat = grpo_verdict(_steps(3, reward=lambda i: 0.0, frac_reward_zero_std=lambda i: 1.0), CAP)
    report = dict(REPORT, **{"grpo-judge": policy(47.0, 0.8, 4.5)})
    lines = qf.findings(RM, report, {}, verdicts={"grpo-judge": flat})
    assert "While grpo-judge trained, the reward was 0.00 at every step: the policy got no " \
        "signal." in lines
    moving = grpo_verdict(_steps(3, reward=lambda i: i / 4, frac_reward_zero_std=lambda i: 1.0),
                          CAP)
    said = qf.signal_findings("grpo-judge", {}, moving)
    assert said == ["While grpo-judge trained, every prompt's completions got the same reward at "
                    "every step: the policy got no signal (GRPO learns from differences within a "
                    "prompt's completions)."]


def test_a_reward_model_that_ranks_random_text_low_is_said_so() -> None:
    report = dict(REPORT, base=policy(149.0, 0.10, 1.0))
    assert "below SFT's greetings (10% vs 82% excellent)" in qf.base_finding(report)[0]
    better = {"pairwise": {"overall": {"rm": 0.99, "length": 0.80}},
              "agreement": {"overall": {"accuracy": 0.95}, "baseline": {"accuracy": 0.9}}}
    assert "mostly learns length" not in qf.rm_findings(better)[0]


def test_the_judge_note_says_the_judge_is_a_stand_in() -> None:
    note = qf.judge_note("grpo-judge", {"judge_stats": {"items": 16, "failed": 1, "good": 16}})
    assert note is not None
    assert "16 completions judged (1 failed, 100% judged good)" in note
    assert "SmolLM2-135M" in note and "stand-in" in note
    assert qf.judge_note("grpo-judge", None) is None


def test_the_figures_table_and_samples_print(capsys: pytest.CaptureFixture[str]) -> None:
    qr.print_policy_figures(REPORT, 64, 62.0)
    samples = {"sft": [("给老师的祝福", "老师您辛苦了，祝您节日快乐！"), ("生日", "生日快乐")],
               "grpo-rm": [("给老师的祝福", "愿你的每一天都像！" * 6), ("生日", "")]}
    qr.print_samples(samples, {"sft": [4.1, 2.0], "grpo-rm": [8.7, 1.0]})
    out = capsys.readouterr().out
    assert "64 held-out prompts × 2 samples" in out and "self-BLEU ↓" in out
    assert "prompt 1: 给老师的祝福" in out and "[ 8.70]" in out and "…" in out
    assert "(empty)" in out and "average 62 characters" in out
