"""Measures in a task's language: lengths, distinct-n, self-BLEU, the guard, the fitted threshold.

The Chinese (default) results are pinned to what the measures gave before they took a language,
so the paper's figures cannot move.
"""

from __future__ import annotations

import pytest
from kindling.agents.judge.guard import RULES, rules_for
from kindling.agents.judge.metrics import (
    DEFAULT_THRESHOLD,
    best_length_threshold,
    fit_length_threshold,
)
from kindling.agents.language import (
    bleu_tokenizer,
    guard_rules,
    measure_tokens,
    text_length,
    text_lengths,
    token_ngrams,
    unit_name,
    words,
)
from kindling.rl.evaluate.text_metrics import distinct_n, repetition, self_bleu

ZH = ["祝您新年快乐，万事如意！", "新年快乐，身体健康，万事如意。", "愿你如秋实般丰盈，如秋实般丰盈。",
      "Happy new year 祝福你"]
EN = ["Happy birthday, Mom! Wishing you joy.", "Happy birthday, Dad! Wishing you health.",
      "Congratulations on the new job!"]


def test_chinese_measures_are_unchanged() -> None:
    # the values before the measures took a language (zh/chars is the default)
    assert distinct_n(ZH, 1) == pytest.approx(0.5689655172413793)
    assert distinct_n(ZH, 2) == pytest.approx(0.7592592592592593)
    assert distinct_n(ZH, 3) == pytest.approx(0.8)
    assert self_bleu(ZH) == pytest.approx(25.604659313231636)
    assert [repetition(t) for t in ZH] == pytest.approx([0.0, 0.0, 0.2857142857142857, 0.0])
    assert distinct_n(ZH, 2, language="zh") == distinct_n(ZH, 2)
    assert self_bleu(ZH, language="zh") == self_bleu(ZH)
    assert text_lengths(ZH) == [len(t) for t in ZH] == [12, 15, 16, 18]
    assert bleu_tokenizer() == "zh" and rules_for() is RULES and guard_rules("zh") is RULES


def test_english_lengths_count_words() -> None:
    assert words("Happy birthday, don't worry — be well-being 2025!") == [
        "Happy", "birthday", "don't", "worry", "be", "well-being", "2025"]
    assert text_length("Happy birthday, Mom!", "words") == 3
    assert text_length("Happy birthday, Mom!", "chars") == 20
    assert text_length("  ", "words") == 0
    assert unit_name("words") == "words" and unit_name() == "characters"
    with pytest.raises(ValueError, match="unknown length unit"):
        text_length("x", "tokens")


def test_distinct_n_on_english_words() -> None:
    assert measure_tokens("Happy HAPPY, new year!", "en") == ["happy", "happy", "new", "year"]
    assert token_ngrams("Happy HAPPY, new year!", 2, "en") == ["happy happy", "happy new", "new year"]
    # words: happy×2 birthday×2 mom dad wishing×2 you×2 joy health congratulations on the new job
    assert distinct_n(EN, 1, language="en") == pytest.approx(13 / 17)
    assert distinct_n(["a b a b"], 2, language="en") == pytest.approx(2 / 3)
    assert repetition("so happy so happy so happy", 2, language="en") == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="unknown language"):
        distinct_n(EN, 1, language="fr")


def test_self_bleu_uses_13a_on_english() -> None:
    from sacrebleu.metrics import BLEU

    assert bleu_tokenizer("en") == "13a"
    bleu = BLEU(tokenize="13a", effective_order=True)
    expected = [bleu.sentence_score(t, EN[:i] + EN[i + 1:]).score for i, t in enumerate(EN)]
    assert self_bleu(EN, language="en") == pytest.approx(sum(expected) / len(expected))
    mixed = ["新年快乐 happy", "新年快乐 joy"]  # the zh tokenizer splits the characters, 13a not
    assert self_bleu(mixed, language="en") != self_bleu(mixed, language="zh")


def test_fitted_threshold_on_a_synthetic_set() -> None:
    # good iff more than 3 words, but for one long bad and one short good response
    items = [("one two", 0), ("one two three", 0), ("a b c d e f g h", 0), ("yes", 1),
             ("one two three four", 1), ("one two three four five", 1), ("a b c d e f", 1)]
    fit = fit_length_threshold(items, "words")
    assert (fit.threshold, fit.items, fit.unit) == (3, 7, "words")
    assert fit.accuracy == pytest.approx(5 / 7)
    assert fit.as_dict()["threshold"] == 3
    # the same texts in characters
    chars = fit_length_threshold(items, "chars")
    assert chars.threshold == best_length_threshold([len(r) for r, _ in items],
                                                    [y for _, y in items])
    with pytest.raises(ValueError):
        fit_length_threshold([], "words")


def test_fitted_threshold_on_the_paper_evaluation_set(paper_store) -> None:  # type: ignore[no-untyped-def]
    from kindling.store.eval_data import labelled_items

    items = labelled_items(paper_store, "evaluation_set")
    fit = fit_length_threshold([(i.response, i.label) for i in items])
    # 36 characters at 90.0%; the paper data's quoted rule, 39, gives 89.8% and stays the default
    assert fit.items == 1602 and fit.threshold == 36
    assert fit.accuracy == pytest.approx(0.9001, abs=1e-4)
    assert abs(fit.threshold - DEFAULT_THRESHOLD) <= 3
