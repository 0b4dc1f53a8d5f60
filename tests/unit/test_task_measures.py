"""Measures in a task's unit on the eval commands' side: word bands, the default threshold, the
studio's captions and the quickstart report's wording for a task counted in words."""

from __future__ import annotations

from kindling.agents.task import resolve_task
from kindling.rl.watch import summarize_signals

from kindling import quickstart_findings as qf
from kindling import quickstart_report as qr
from kindling.services.task_measures import WORD_BAND_EDGES, default_threshold, word_bands
from kindling.studio.eval_view import policy_table, versus_table


def test_word_bands_are_the_labelled_quartiles() -> None:
    assert word_bands([2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16]) == (4, 8, 12)
    assert word_bands([3, 4]) == WORD_BAND_EDGES  # too few lengths
    assert word_bands([5] * 10) == WORD_BAND_EDGES  # one distinct edge


def test_threshold_is_39_for_greetings_else_fitted_unless_given() -> None:
    assert default_threshold(None, resolve_task("greetings-zh")) == 39
    assert default_threshold(None, resolve_task("slogans-en")) is None
    assert default_threshold(7, resolve_task("slogans-en")) == 7


def test_studio_captions_follow_the_unit() -> None:
    metrics = {"overall": {"n": 1}, "baseline": {"n": 1}, "length_unit": "words"}
    assert "longer than 5 words" in versus_table("judge", metrics, 5)["caption"]
    assert "longer than 39 characters" in versus_table("judge", {}, 39)["caption"]
    assert "longer than 5 words" in policy_table({}, 5, "words")["caption"]


def test_quickstart_report_in_words() -> None:
    policy = {"samples": 4, "mean_length": 12.0, "distinct_2": 0.5, "self_bleu": 10.0,
              "repetition": 0.0}
    rows = [name for name, _ in qr._rows({"sft": policy}, "words")]
    assert rows[0] == "mean length, words"
    assert "word 3-grams" in qr.legend("words") and "character" not in qr.legend("words")
    assert qr.legend("chars") == qr.LEGEND
    grpo = {**policy, "mean_length": 24.0}
    text = " ".join(qf.policy_findings("grpo-rm", grpo, policy, "words"))
    assert "24 vs 12 words" in text
    signals = summarize_signals({"steps": [{"watch/length_chars": 6.0},
                                           {"watch/length_chars": 9.0}]}, "words")
    assert signals["unit"] == "words"
    assert "from 6 to 9 words" in qf.signal_findings("grpo-rm", signals)[0]
