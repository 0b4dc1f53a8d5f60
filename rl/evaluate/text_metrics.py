"""Diversity metrics of generated texts: distinct-n and self-BLEU (pure functions, no model).

Each takes the task's `language` (agents/language.py). For zh, the default and the paper's
Chinese greetings, n-grams are over characters (whitespace removed) and self-BLEU uses sacrebleu's
`zh` tokenizer (each Chinese character a token, other scripts split as in 13a); for en, n-grams
are over lower-cased words and self-BLEU uses `13a`. Self-BLEU is sentence BLEU averaged over
texts, each scored against all the others as references (Zhu et al., 2018, Texygen): high
self-BLEU means the samples repeat each other.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from kindling.agents.language import DEFAULT_LANGUAGE, bleu_tokenizer, check_language, token_ngrams
from kindling.agents.language import char_ngrams as char_ngrams  # re-exported


def distinct_n(texts: Sequence[str], n: int, *, language: str = DEFAULT_LANGUAGE) -> float:
    """Distinct n-grams over all n-grams of all texts (Li et al., 2016); 0.0 if none.

    Args:
        texts: The texts.
        n: The n-gram order.
        language: zh counts character n-grams, en lower-cased word n-grams.

    Raises:
        ValueError: n < 1, or an unknown language.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    check_language(language)
    grams = [g for text in texts for g in token_ngrams(text, n, language)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition(text: str, n: int = 3, *, language: str = DEFAULT_LANGUAGE) -> float:
    """Share of the text's n-grams (characters for zh, words for en) that repeat within it: 0
    for none, near 1 for one phrase looped ("如秋实般丰盈，如秋实般丰盈，…"); 0.0 for a text
    shorter than n."""
    grams = token_ngrams(text, n, language)
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def self_bleu(texts: Sequence[str], *, max_texts: int | None = 100, seed: int = 0,
              language: str = DEFAULT_LANGUAGE) -> float | None:
    """Mean sentence BLEU (0–100) of each text against all the others; None for fewer than 2 texts.

    Args:
        texts: Generated texts.
        max_texts: Score a seeded random sample of this many texts (the cost grows with the
            square of the count: about 1 s for 100 on one core); None scores all.
        seed: The sample's seed.
        language: Chooses sacrebleu's tokenizer: `zh` for zh, `13a` for en.
    """
    from sacrebleu.metrics import BLEU

    tokenize = bleu_tokenizer(language)
    chosen = list(texts)
    if max_texts is not None and len(chosen) > max_texts:
        chosen = random.Random(seed).sample(chosen, max_texts)
    if len(chosen) < 2:
        return None
    bleu = BLEU(tokenize=tokenize, effective_order=True)
    scores = [bleu.sentence_score(text, chosen[:i] + chosen[i + 1:]).score
              for i, text in enumerate(chosen)]
    return sum(scores) / len(scores)
