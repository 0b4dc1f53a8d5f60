"""Distinct-n, self-BLEU and a policy's figures on hand-worked examples."""

from __future__ import annotations

import pytest
from kindling.rl.evaluate.policy import excellence, policy_metrics
from kindling.rl.evaluate.text_metrics import char_ngrams, distinct_n, self_bleu


def test_char_ngrams_ignore_whitespace() -> None:
    assert char_ngrams("新 年快乐", 2) == ["新年", "年快", "快乐"]
    assert char_ngrams("好", 2) == []


def test_distinct_n_hand_worked() -> None:
    texts = ["快乐快乐", "快乐"]
    # unigrams: 快 乐 快 乐 快 乐 → 2 distinct of 6; bigrams: 快乐 乐快 快乐 快乐 → 2 of 4
    assert distinct_n(texts, 1) == pytest.approx(2 / 6)
    assert distinct_n(texts, 2) == pytest.approx(2 / 4)
    assert distinct_n([], 1) == 0.0 and distinct_n(["好"], 2) == 0.0
    with pytest.raises(ValueError):
        distinct_n(texts, 0)


def test_self_bleu_identical_disjoint_and_too_few() -> None:
    same = ["新年快乐万事如意身体健康"] * 3
    assert self_bleu(same) == pytest.approx(100.0)
    assert self_bleu(["新年快乐万事如意", "生日蛋糕甜甜蜜蜜"]) == pytest.approx(0.0)
    assert self_bleu(["新年快乐"]) is None and self_bleu([]) is None


def test_self_bleu_samples_at_most_max_texts() -> None:
    texts = ["新年快乐万事如意"] * 2 + [f"生日{i}蛋糕甜甜蜜蜜" for i in range(50)]
    import random

    sampled = random.Random(1).sample(texts, 2)
    assert self_bleu(texts, max_texts=2, seed=1) == self_bleu(sampled, max_texts=None)
    assert self_bleu(texts, max_texts=None) != self_bleu(sampled, max_texts=None)


def test_excellence_counts_failures_apart() -> None:
    assert excellence([1, 0, None, 1]) == {"rate": pytest.approx(2 / 3), "scored": 3, "failed": 1}
    assert excellence([None]) == {"rate": 0.0, "scored": 0, "failed": 1}


def test_policy_metrics_hand_worked() -> None:
    samples = ["短", "这是一个比较长的祝福语，" * 4, ""]  # lengths 1, 48, 0
    m = policy_metrics(samples, rm_scores=[0.1, 2.0, -1.0], rm_threshold=0.5,
                       judge_verdicts=[0, 1, None], length_threshold=39)
    assert m["samples"] == 3 and m["empty"] == 1
    assert m["mean_length"] == pytest.approx(49 / 3) and m["median_length"] == 1
    assert m["length_rule"] == pytest.approx(1 / 3)
    assert m["rm"]["mean"] == pytest.approx(1.1 / 3)
    assert m["rm"]["excellence"] == {"rate": pytest.approx(1 / 3), "scored": 3, "failed": 0}
    assert m["judge"]["excellence"] == {"rate": 0.5, "scored": 2, "failed": 1}
    assert 0 < m["distinct_1"] < 1 and m["self_bleu"] is not None


def test_policy_metrics_rejects_misaligned_scores() -> None:
    with pytest.raises(ValueError):
        policy_metrics(["a", "b"], rm_scores=[1.0], rm_threshold=0.0)
    with pytest.raises(ValueError):
        policy_metrics(["a"], rm_scores=[1.0])
    with pytest.raises(ValueError):
        policy_metrics(["a"], judge_verdicts=[1, 0])
